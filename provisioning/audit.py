import logging


class RedactSecretsFilter(logging.Filter):
    def filter(self, record):
        return True
