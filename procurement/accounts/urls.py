from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accedi/", views.login_view, name="login"),
    path("esci/", views.logout_view, name="logout"),
    path("accesso-forte/", views.strong_login, name="strong_login"),
    path("accesso-forte/dev/", views.dev_strong_login, name="dev_strong_login"),
    path("profilo/", views.switch_membership, name="switch_membership"),
]
