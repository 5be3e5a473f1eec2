from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from customers.models import Customer, Exposure, Incident, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


class StaffFactory(UserFactory):
    is_staff = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    customer_ref = factory.Sequence(lambda n: f"C{n:08d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+6141{n:07d}")
    email_verified = True


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"incident-{n}")
    title = "Cyber attack on customer records"
    title_fr = "Cyberattaque visant les dossiers clients"
    summary = "Someone accessed our customer database."
    summary_fr = "Quelqu'un a accédé à notre base clients."
    actions = "We closed the access point."
    status = Incident.Status.ACTIVE
    discovered_at = factory.LazyFunction(timezone.now)


class ExposureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exposure

    incident = factory.SubFactory(IncidentFactory)
    customer = factory.SubFactory(CustomerFactory)
    fields = factory.LazyFunction(lambda: {"email": "c•••@example.com"})


def login_left_behind_by_an_erased_record(email: str = "jane@example.com", **fields) -> User:
    """A login whose record was erased (a re-import may then make a new one)."""
    from customers.services import customer_login_ensure

    earlier = CustomerFactory(customer_ref="J0000001", email=email)
    login = customer_login_ensure(email=email)
    for name, value in fields.items():
        setattr(login, name, value)
    login.set_password("the-earlier-password")
    login.save()
    earlier.delete()  # erased; a re-import then makes a new record
    return login
