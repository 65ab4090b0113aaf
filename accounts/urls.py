from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.SignUpView.as_view(), name="signup"),
    path(
        "signup/done/",
        TemplateView.as_view(template_name="accounts/signup_done.html"),
        name="signup_done",
    ),
    path("activate/resend/", views.ResendActivationView.as_view(), name="resend_activation"),
    path(
        "activate/sent/",
        TemplateView.as_view(template_name="accounts/activation_sent.html"),
        name="activation_sent",
    ),
    path("activate/<str:token>/", views.ActivateView.as_view(), name="activate"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetRequestView.as_view(), name="password_reset"),
    path(
        "password-reset/code/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
