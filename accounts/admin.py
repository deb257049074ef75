from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Membership, RoleGrant, Team, User


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    fields = ["role"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    inlines = [RoleGrantInline, MembershipInline]
    fieldsets = [*UserAdmin.fieldsets, ("Single sign-on", {"fields": ["oidc_subject"]})]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "contact_email"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
