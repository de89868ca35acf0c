from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.sessions, name="sessions"),
    path("sign-out-others/", views.sign_out_others, name="sign_out_others"),
    path("<int:session_id>/sign-out/", views.sign_out_one, name="sign_out_one"),
]
