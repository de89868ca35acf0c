"""The functions of the expression language, one module per kind.

Importing this package registers every function in ``registry.REGISTRY``.
"""

from . import conversion, dates, logic, multivalued, strings  # noqa: F401
