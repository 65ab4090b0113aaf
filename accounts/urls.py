from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

from accounts.views import account, password_reset, sign_in, sign_up

app_name = "accounts"

urlpatterns = [
    path("", account.AccountView.as_view(), name="account"),
    path("email/", account.EmailChangeView.as_view(), name="email_change"),
    path("email/code/", account.EmailChangeCodeView.as_view(), name="email_change_code"),
    path("email/code/again/", account.EmailChangeResendView.as_view(), name="email_change_resend"),
    path("email/cancel/", account.EmailChangeCancelView.as_view(), name="email_change_cancel"),
    path("email/undo/", account.EmailChangeUndoView.as_view(), name="email_change_undo"),
    # Links mailed before the token moved to the fragment (docs/security.md, issue 19).
    path("email/undo/<str:token>/", account.EmailChangeUndoView.as_view(), name="email_change_undo_in_path"),
    path("password/", account.PasswordChangeView.as_view(), name="password_change"),
    path("time-zone/", account.TimeZoneView.as_view(), name="time_zone"),
    path("signup/", sign_up.SignUpView.as_view(), name="signup"),
    path("signup/done/", sign_up.SignUpDoneView.as_view(), name="signup_done"),
    path("activate/resend/", sign_up.ResendActivationView.as_view(), name="resend_activation"),
    path(
        "activate/sent/",
        TemplateView.as_view(template_name="accounts/activation_sent.html"),
        name="activation_sent",
    ),
    path("activate/<str:token>/", sign_up.ActivateView.as_view(), name="activate"),
    path("login/", sign_in.LoginView.as_view(), name="login"),
    # The code page sits below the request page: the address cookie's path covers both.
    path("login/code/", sign_in.SignInCodeRequestView.as_view(), name="login_code_request"),
    path("login/code/enter/", sign_in.SignInCodeView.as_view(), name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", password_reset.PasswordResetRequestView.as_view(), name="password_reset"),
    path(
        "password-reset/code/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
