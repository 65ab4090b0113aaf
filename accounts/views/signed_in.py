"""What a page shows a person who is signed in already."""

from django.shortcuts import redirect


class SignedInGoToAccount:
    """Sign-in and sign-up are for people who are not signed in: the others go to their account."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("accounts:account")
        return super().dispatch(request, *args, **kwargs)
