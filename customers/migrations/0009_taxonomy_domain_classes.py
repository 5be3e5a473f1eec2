"""The taxonomy catches up with the domain notes (docs: DOMAIN.md).

- The data classes HIBP distinguishes that were missing, and expired identity
  documents, each with at least one recommended step.
- The driver's licence card number gets the state-rules caveat: some states
  replace a licence only when both numbers leaked.
- The identity-theft support service is named by the ``ID_SUPPORT_NAME``
  setting (``{ID_SUPPORT_NAME}`` in the stored text, filled in when shown by
  ``portal.i18n.localized``), not written into the text.

Existing codes and ids stay as they are, and so does a text staff have
rewritten. Reversing restores the earlier texts and removes only what this
migration added, unchanged and unused since.
"""

from django.db import migrations

# code, sensitivity (1 low … 4 critical), identity document, label, label_fr,
# explanation, explanation_fr. Labels stay in the GSM-7 alphabet (no ç, ê, …):
# one character outside it would send a whole text message as UCS-2.
NEW_CLASSES = [
    (
        "username", 1, False, "Username", "Nom d'utilisateur",
        "Your username is half of what it takes to sign in. With a reused password it can open "
        "your other accounts.",
        "Votre nom d'utilisateur est la moitié de ce qu'il faut pour vous connecter. Avec un mot "
        "de passe réutilisé, il peut ouvrir vos autres comptes.",
    ),
    (
        "gender", 1, False, "Gender", "Genre",
        "On its own your gender says little, but with other details it helps a scammer sound "
        "like they know you.",
        "Seul, votre genre dit peu de choses, mais avec d'autres données il aide un escroc à "
        "donner l'impression de vous connaître.",
    ),
    (
        "ip_address", 1, False, "IP address", "Adresse IP",
        "An IP address shows roughly where you connected from. It can make a phishing message "
        "look more convincing.",
        "Une adresse IP indique approximativement d'où vous vous êtes connecté. Elle peut rendre "
        "un message d'hameçonnage plus convaincant.",
    ),
    (
        "geolocation", 2, False, "Location data", "Données de localisation",
        "Location data shows where you have been, and may show where you live or work.",
        "Les données de localisation montrent où vous êtes allé, et parfois où vous habitez ou "
        "travaillez.",
    ),
    (
        "social_security_number", 4, True, "Social security number",
        "Numéro de sécurité sociale",
        "A national identity number is used to open accounts, claim benefits and file taxes. "
        "Someone with it can try to do so in your name.",
        "Un numéro d'identification national sert à ouvrir des comptes, percevoir des "
        "prestations et déclarer des impôts. Quelqu'un qui le connaît peut tenter de le faire "
        "à votre nom.",
    ),
    (
        "government_id_number", 4, True, "Other government ID number",
        "Numéro d'une autre pièce d'identité",
        "The number of an identity document issued by a government (other than a passport, "
        "licence or health card) can be used in identity fraud.",
        "Le numéro d'une pièce d'identité officielle (autre qu'un passeport, un permis ou une "
        "carte d'assurance maladie) peut servir à une usurpation d'identité.",
    ),
    (
        "expired_id_document", 3, True, "Expired ID document number",
        "Numéro de pièce d'identité expirée",
        "An expired document cannot be used to travel or drive, but its number can still help "
        "someone pass some identity checks.",
        "Une pièce expirée ne permet plus de voyager ni de conduire, mais son numéro peut encore "
        "aider quelqu'un à passer certaines vérifications d'identité.",
    ),
    (
        "credit_card", 4, False, "Credit card number", "Numéro de carte bancaire",
        "A full card number, with its expiry date, can be used to pay online in your name.",
        "Un numéro de carte complet, avec sa date d'expiration, peut servir à payer en ligne à "
        "votre nom.",
    ),
    (
        "partial_credit_card", 2, False, "Partial card number", "Numéro de carte partiel",
        "The last digits of a card cannot be used to pay, but they help a scammer sound like "
        "your bank.",
        "Les derniers chiffres d'une carte ne permettent pas de payer, mais ils aident un escroc "
        "à se faire passer pour votre banque.",
    ),
    (
        "security_questions", 3, False, "Security questions and answers",
        "Questions et réponses de sécurité",
        "Security answers are used to reset passwords and to prove who you are on the phone, "
        "here and elsewhere.",
        "Les réponses de sécurité servent à réinitialiser des mots de passe et à prouver votre "
        "identité au téléphone, chez nous et ailleurs.",
    ),
    (
        "auth_tokens", 3, False, "Sign-in tokens", "Jetons de connexion",
        "A sign-in token lets someone use your account without your password until it expires "
        "or is revoked.",
        "Un jeton de connexion permet d'utiliser votre compte sans votre mot de passe, jusqu'à "
        "son expiration ou sa révocation.",
    ),
    (
        "health_insurance", 3, False, "Health insurance details",
        "Informations d'assurance santé",
        "Health insurance details can be used to make claims in your name or to make a scam "
        "call sound genuine.",
        "Vos informations d'assurance santé peuvent servir à faire des demandes de "
        "remboursement à votre nom ou à rendre crédible un appel frauduleux.",
    ),
    (
        "employer", 1, False, "Employer", "Employeur",
        "Knowing where you work helps a scammer write a convincing message, for example one "
        "that pretends to come from your workplace.",
        "Savoir où vous travaillez aide un escroc à écrire un message convaincant, par exemple "
        "en se faisant passer pour votre employeur.",
    ),
    (
        "job_title", 1, False, "Job title", "Intitulé de poste",
        "Your job title helps a scammer target you, for example with a fake invoice or a "
        "request that seems to come from a colleague.",
        "Votre intitulé de poste aide un escroc à vous cibler, par exemple avec une fausse "
        "facture ou une demande qui semble venir d'un collègue.",
    ),
    (
        "purchases", 1, False, "Purchase history", "Historique d'achats",
        "What you bought and when lets a scammer pose as a shop or a delivery company you "
        "really use.",
        "Ce que vous avez acheté et quand permet à un escroc de se faire passer pour une "
        "boutique ou un transporteur que vous utilisez vraiment.",
    ),
]

# code, priority, data classes, link, title, title_fr, body, body_fr
NEW_STEPS = [
    (
        "card-cancel", 1, ["credit_card"], "",
        "Cancel your card and check your statements", "Faites opposition et vérifiez vos relevés",
        "Call your card issuer to cancel the card and get a new number. Check your statements "
        "for payments you did not make and dispute them with your bank.",
        "Appelez votre banque pour faire opposition sur la carte et obtenir un nouveau numéro. "
        "Vérifiez vos relevés et contestez auprès de votre banque les paiements que vous n'avez "
        "pas faits.",
    ),
    (
        "security-answers-change", 1, ["security_questions"], "",
        "Change your security answers", "Changez vos réponses de sécurité",
        "Change your security questions and answers with us and anywhere you used the same "
        "ones. An answer does not have to be true: pick one only you would know.",
        "Changez vos questions et réponses de sécurité chez nous et partout où vous utilisiez "
        "les mêmes. Une réponse n'a pas besoin d'être vraie : choisissez-en une que vous seul "
        "connaissez.",
    ),
    (
        "sessions-sign-out", 1, ["auth_tokens"], "",
        "Sign out everywhere and change your password",
        "Déconnectez-vous partout et changez votre mot de passe",
        "We revoked the exposed tokens. Sign out of every device in your account settings, "
        "change your password and check that no device you do not know is signed in.",
        "Nous avons révoqué les jetons exposés. Déconnectez-vous de tous vos appareils dans les "
        "réglages de votre compte, changez votre mot de passe et vérifiez qu'aucun appareil "
        "inconnu n'est connecté.",
    ),
    (
        "health-insurer-tell", 2, ["health_insurance"], "",
        "Tell your health insurer", "Prévenez votre assurance santé",
        "Tell your health insurer your policy details were exposed, and check your claims "
        "history for claims you did not make.",
        "Prévenez votre assurance santé que les informations de votre contrat ont été exposées, "
        "et vérifiez votre historique de remboursements.",
    ),
    (
        "id-document-ask-issuer", 2,
        ["social_security_number", "government_id_number", "expired_id_document"], "",
        "Ask the issuing agency about your document",
        "Renseignez-vous auprès de l'organisme qui a délivré votre pièce",
        "Contact the agency that issued the document. It can tell you whether to replace it and "
        "can flag the number against misuse. If a replacement costs a fee, we reimburse it: "
        "keep your receipt.",
        "Contactez l'organisme qui a délivré la pièce. Il peut vous dire s'il faut la remplacer "
        "et signaler le numéro pour empêcher son usage frauduleux. Si un remplacement est "
        "payant, nous remboursons les frais : gardez votre reçu.",
    ),
    (
        "phishing-watch", 3,
        ["username", "gender", "ip_address", "geolocation", "employer", "job_title", "purchases",
         "partial_credit_card"], "",
        "Expect convincing scam messages", "Attendez-vous à des messages frauduleux convaincants",
        "Scammers may use these details to make a call, text or email look genuine. We never "
        "ask for a password, a code or a payment: check any message that claims to be from us "
        "on the 'Is this message from us?' page.",
        "Les escrocs peuvent utiliser ces informations pour rendre crédible un appel, un SMS ou "
        "un e-mail. Nous ne demandons jamais de mot de passe, de code ni de paiement : vérifiez "
        "tout message prétendant venir de nous sur la page « Ce message vient-il de nous ? ».",
    ),
]

# Existing steps that also serve the new classes.
MORE_CLASSES = {
    "credit-report-check": ["social_security_number", "government_id_number",
                            "expired_id_document"],
    "id-theft-support": ["social_security_number", "government_id_number",
                         "expired_id_document"],
    "password-change": ["username", "security_questions", "auth_tokens"],
    "caller-not-proof": ["partial_credit_card", "health_insurance"],
    "bank-watch-debits": ["credit_card"],
    # The card number's replacement depends on the state's rules too.
    "licence-check-state-rules": ["drivers_licence_card_number"],
}

# code -> (title, title_fr, body, body_fr): (before, after)
REWORDED = {
    "licence-card-replace": (
        (
            "Ask for a new licence card", "Demandez une nouvelle carte de permis",
            "Request a new licence card from your state or territory road agency. The new card "
            "has a new card number, and the old number is blocked in the government document "
            "verification service. We pay the replacement fee: keep your receipt.",
            "Demandez une nouvelle carte auprès de l'agence routière de votre État ou territoire. "
            "La nouvelle carte porte un nouveau numéro et l'ancien est bloqué dans le service "
            "officiel de vérification des documents. Nous remboursons les frais : gardez votre "
            "reçu.",
        ),
        (
            "Ask for a new licence card", "Demandez une nouvelle carte de permis",
            "Ask your state or territory road agency for a new licence card. Rules differ by "
            "state: some replace a licence only if both the licence number and the card number "
            "were exposed. A new card has a new card number, and the old one is blocked in the "
            "government document verification service, which now checks card numbers. The fee "
            "is waived, or we reimburse it: keep your receipt.",
            "Demandez une nouvelle carte à l'agence routière de votre État ou territoire. Les "
            "règles varient selon l'État : certains ne remplacent le permis que si le numéro de "
            "permis et le numéro de carte ont tous deux été exposés. La nouvelle carte porte un "
            "nouveau numéro, et l'ancien est bloqué dans le service officiel de vérification "
            "des documents, qui vérifie désormais les numéros de carte. Les frais sont "
            "supprimés, ou nous les remboursons : gardez votre reçu.",
        ),
    ),
    "id-theft-support": (
        (
            "Know where to get help with identity theft",
            "Sachez où trouver de l'aide en cas d'usurpation d'identité",
            "If someone uses your identity, contact your bank, an identity-theft support service "
            "(in Australia, IDCARE) and report it to the national cybercrime service. You can "
            "complain to us, then to the ombudsman, then to the privacy regulator.",
            "Si quelqu'un utilise votre identité, contactez votre banque, un service d'aide aux "
            "victimes d'usurpation d'identité (en Australie, IDCARE) et signalez-le au service "
            "national de lutte contre la cybercriminalité. Vous pouvez porter plainte auprès de "
            "nous, puis du médiateur, puis de l'autorité de protection des données.",
        ),
        (
            "Know where to get help with identity theft",
            "Sachez où trouver de l'aide en cas d'usurpation d'identité",
            "If someone uses your identity, contact your bank and {ID_SUPPORT_NAME}, a free "
            "identity-theft support service, and report it to the national cybercrime service. "
            "You can complain to us, then to the ombudsman, then to the privacy regulator.",
            "Si quelqu'un utilise votre identité, contactez votre banque et {ID_SUPPORT_NAME}, "
            "un service gratuit d'aide aux victimes d'usurpation d'identité, et signalez-le au "
            "service national de lutte contre la cybercriminalité. Vous pouvez porter plainte "
            "auprès de nous, puis du médiateur, puis de l'autorité de protection des données.",
        ),
    ),
}


def _reword(apps, which: int) -> None:
    """Each step's text as version ``which``, where it still reads as the other
    version: a text staff have rewritten since is theirs."""
    Step = apps.get_model("customers", "Step")
    for code, versions in REWORDED.items():
        title, title_fr, body, body_fr = versions[which]
        was_title, was_title_fr, was_body, was_body_fr = versions[1 - which]
        Step.objects.filter(
            code=code,
            title=was_title,
            title_fr=was_title_fr,
            body=was_body,
            body_fr=was_body_fr,
        ).update(title=title, title_fr=title_fr, body=body, body_fr=body_fr)


def forwards(apps, schema_editor):
    DataClass = apps.get_model("customers", "DataClass")
    Step = apps.get_model("customers", "Step")
    for code, sensitivity, identity, label, label_fr, explanation, explanation_fr in NEW_CLASSES:
        # Staff may have added one of these already: keep their texts.
        DataClass.objects.get_or_create(
            code=code,
            defaults={
                "sensitivity": sensitivity,
                "is_identity_document": identity,
                "label": label,
                "label_fr": label_fr,
                "explanation": explanation,
                "explanation_fr": explanation_fr,
            },
        )
    classes = {dc.code: dc for dc in DataClass.objects.all()}
    for code, priority, class_codes, link, title, title_fr, body, body_fr in NEW_STEPS:
        step, _ = Step.objects.get_or_create(
            code=code,
            defaults={
                "priority": priority,
                "link_url": link,
                "title": title,
                "title_fr": title_fr,
                "body": body,
                "body_fr": body_fr,
            },
        )
        step.data_classes.add(*[classes[c] for c in class_codes])
    for code, class_codes in MORE_CLASSES.items():
        for step in Step.objects.filter(code=code):
            step.data_classes.add(*[classes[c] for c in class_codes])
    _reword(apps, 1)


def backwards(apps, schema_editor):
    DataClass = apps.get_model("customers", "DataClass")
    Step = apps.get_model("customers", "Step")
    _reword(apps, 0)
    licence_card = DataClass.objects.filter(code="drivers_licence_card_number")
    for step in Step.objects.filter(code="licence-check-state-rules"):
        step.data_classes.remove(*licence_card)
    # Only what this migration made, as it made it, and nothing uses: a class
    # staff had created first or have reworded, one an import or a campaign
    # names, a step customers have ticked (deleting it would delete their
    # progress), all stay.
    StepProgress = apps.get_model("customers", "StepProgress")
    Exposure = apps.get_model("customers", "Exposure")
    ticked = StepProgress.objects.values("step_id")
    for code, _priority, _classes, link, title, title_fr, body, body_fr in NEW_STEPS:
        Step.objects.filter(
            code=code, link_url=link, title=title, title_fr=title_fr, body=body, body_fr=body_fr
        ).exclude(pk__in=ticked).delete()
    for code, _sensitivity, _identity, label, label_fr, explanation, explanation_fr in NEW_CLASSES:
        untouched = DataClass.objects.filter(
            code=code,
            label=label,
            label_fr=label_fr,
            explanation=explanation,
            explanation_fr=explanation_fr,
        ).first()
        if untouched is None or Exposure.objects.filter(fields__has_key=code).exists():
            continue
        if not _in_a_campaign(untouched, schema_editor):
            untouched.delete()


def _in_a_campaign(data_class, schema_editor) -> bool:
    """Whether a campaign's audience names the class. Campaigns live in
    ``notices``, which depends on ``customers`` (never the reverse), so they are
    not among this migration's models: their table is asked directly."""
    connection = schema_editor.connection
    if "notices_campaign_data_classes" not in connection.introspection.table_names():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM notices_campaign_data_classes WHERE dataclass_id = %s LIMIT 1",
            [data_class.pk],
        )
        return cursor.fetchone() is not None


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_email_from_support")]

    operations = [migrations.RunPython(forwards, backwards)]
