from django import template

from accounts.addresses import shown_email

register = template.Library()
register.filter("shown_email", shown_email)
