"""The data-class taxonomy and recommended steps, in English and French.

Fine enough to decide what to do: a driver's licence number and the licence
card number call for different actions, as do a passport and a health card.
"""

from django.db import migrations

# code, sensitivity (1 low … 4 critical), identity document, label, label_fr,
# explanation, explanation_fr
DATA_CLASSES = [
    (
        "name", 1, False, "Name", "Nom",
        "On its own your name is public information, but together with other details it helps "
        "scammers sound convincing.",
        "Seul, votre nom est une information publique, mais associé à d'autres données il aide "
        "les escrocs à paraître crédibles.",
    ),
    (
        "email", 2, False, "Email address", "Adresse e-mail",
        "Expect more phishing emails that look like they come from us, your bank or a government "
        "agency.",
        "Attendez-vous à davantage d'e-mails d'hameçonnage se faisant passer pour nous, votre "
        "banque ou une administration.",
    ),
    (
        "phone", 2, False, "Phone number", "Numéro de téléphone",
        "Scam calls and texts may increase, and your number could be targeted for a SIM swap, "
        "where someone moves your number to their own SIM card.",
        "Les appels et SMS frauduleux peuvent augmenter, et votre numéro pourrait être visé par "
        "un transfert de SIM frauduleux (quelqu'un fait basculer votre numéro sur sa carte SIM).",
    ),
    (
        "date_of_birth", 2, False, "Date of birth", "Date de naissance",
        "Your date of birth is often used to confirm who you are. With your name it can help "
        "someone open accounts in your name.",
        "Votre date de naissance sert souvent à vérifier votre identité. Avec votre nom, elle peut "
        "aider quelqu'un à ouvrir des comptes à votre nom.",
    ),
    (
        "address", 2, False, "Postal address", "Adresse postale",
        "Your address can be used to redirect your mail or to make a scam letter look genuine.",
        "Votre adresse peut servir à détourner votre courrier ou à rendre crédible un courrier "
        "frauduleux.",
    ),
    (
        "passport_number", 4, True, "Passport number", "Numéro de passeport",
        "A passport number is an identity document number. It cannot be used to travel as you or "
        "to get a new passport, but it can be used in identity fraud.",
        "Le numéro de passeport est un numéro de pièce d'identité. Il ne permet pas de voyager à "
        "votre place ni d'obtenir un nouveau passeport, mais il peut servir à une usurpation "
        "d'identité.",
    ),
    (
        "drivers_licence_number", 3, True, "Driver's licence number", "Numéro de permis de conduire",
        "Your licence number identifies you. Together with the licence card number it can pass "
        "an online identity check.",
        "Votre numéro de permis vous identifie. Associé au numéro de carte du permis, il peut "
        "suffire à passer une vérification d'identité en ligne.",
    ),
    (
        "drivers_licence_card_number", 4, True, "Driver's licence card number",
        "Numéro de carte du permis de conduire",
        "The card number is what government document checks use. With your licence number it "
        "lets someone prove an identity that is yours.",
        "Le numéro de carte est celui qu'utilisent les vérifications officielles de documents. "
        "Avec votre numéro de permis, il permet de se faire passer pour vous.",
    ),
    (
        "medicare_number", 3, True, "Medicare (health card) number",
        "Numéro de carte d'assurance maladie (Medicare)",
        "A health card number is accepted as proof of identity in some checks and could be used "
        "to claim services in your name.",
        "Le numéro de carte d'assurance maladie est accepté comme justificatif d'identité dans "
        "certaines vérifications et pourrait servir à obtenir des prestations à votre nom.",
    ),
    (
        "bank_account", 3, False, "Bank account number (IBAN)", "Numéro de compte bancaire (IBAN)",
        "Someone with your account number can try to set up direct debits from your account.",
        "Quelqu'un qui connaît votre numéro de compte peut tenter de mettre en place des "
        "prélèvements sur votre compte.",
    ),
    (
        "account_number", 1, False, "Customer account number", "Numéro de compte client",
        "Your account number with us helps a caller pretend to be you when they contact us.",
        "Votre numéro de compte client aide un appelant à se faire passer pour vous auprès de "
        "nous.",
    ),
    (
        "password_hash", 3, False, "Account password (scrambled)", "Mot de passe du compte (chiffré)",
        "Your password was stored scrambled (hashed), not in plain text, but weak passwords can "
        "sometimes be recovered from the scrambled form.",
        "Votre mot de passe était stocké sous forme chiffrée (hachée), pas en clair, mais un mot "
        "de passe faible peut parfois être retrouvé à partir de cette forme.",
    ),
]

# code, priority (1 most urgent), data classes, link, title, title_fr, body, body_fr
STEPS = [
    (
        "licence-card-replace", 1, ["drivers_licence_card_number"], "",
        "Ask for a new licence card", "Demandez une nouvelle carte de permis",
        "Request a new licence card from your state or territory road agency. The new card has a "
        "new card number, and the old number is blocked in the government document verification "
        "service. We pay the replacement fee: keep your receipt.",
        "Demandez une nouvelle carte auprès de l'agence routière de votre État ou territoire. La "
        "nouvelle carte porte un nouveau numéro et l'ancien est bloqué dans le service officiel "
        "de vérification des documents. Nous remboursons les frais : gardez votre reçu.",
    ),
    (
        "licence-check-state-rules", 2, ["drivers_licence_number"], "",
        "Check your state's rules for replacing your licence",
        "Vérifiez les règles de votre État pour remplacer votre permis",
        "Rules differ by state: some replace a licence only if both the licence number and the "
        "card number were exposed. Your road agency will tell you; if a replacement is needed, "
        "the fee is waived or we reimburse it.",
        "Les règles varient selon l'État : certains ne remplacent le permis que si le numéro de "
        "permis et le numéro de carte ont tous deux été exposés. Votre agence routière vous le "
        "dira ; si un remplacement est nécessaire, les frais sont supprimés ou nous les "
        "remboursons.",
    ),
    (
        "passport-decide-replace", 2, ["passport_number"], "",
        "Decide whether to replace your passport", "Décidez si vous remplacez votre passeport",
        "Your passport stays valid for travel, and the number alone cannot be used to get a new "
        "passport. If you want a new number, you can cancel it and apply for a replacement at "
        "the passport office; we reimburse the fee. If you see fraud in your name, replace it "
        "now.",
        "Votre passeport reste valable pour voyager, et le numéro seul ne permet pas d'obtenir un "
        "nouveau passeport. Si vous voulez un nouveau numéro, vous pouvez l'annuler et demander "
        "un remplacement au service des passeports ; nous remboursons les frais. Si vous "
        "constatez une fraude à votre nom, remplacez-le dès maintenant.",
    ),
    (
        "medicare-replace-card", 2, ["medicare_number"], "",
        "Get a free replacement health card", "Obtenez gratuitement une nouvelle carte d'assurance maladie",
        "Request a new card through the government services app or website; it is free. If you "
        "see services on your record that you did not receive, ask for a new number.",
        "Demandez une nouvelle carte via l'application ou le site des services publics ; c'est "
        "gratuit. Si votre relevé montre des prestations que vous n'avez pas reçues, demandez un "
        "nouveau numéro.",
    ),
    (
        "bank-watch-debits", 1, ["bank_account"], "",
        "Tell your bank and watch for unknown direct debits",
        "Prévenez votre banque et surveillez les prélèvements inconnus",
        "Tell your bank your account number was exposed. Check your statements for direct debits "
        "you did not set up. In SEPA countries you can contest an unauthorised direct debit for "
        "up to 13 months.",
        "Prévenez votre banque que votre numéro de compte a été exposé. Vérifiez vos relevés pour "
        "repérer des prélèvements que vous n'avez pas autorisés. Dans la zone SEPA, vous pouvez "
        "contester un prélèvement non autorisé pendant 13 mois.",
    ),
    (
        "password-change", 1, ["password_hash"], "",
        "Change your password", "Changez votre mot de passe",
        "Change your password with us, and anywhere else you used the same password. Use a "
        "different password for each service; a password manager helps.",
        "Changez votre mot de passe chez nous, et partout où vous utilisiez le même. Utilisez un "
        "mot de passe différent pour chaque service ; un gestionnaire de mots de passe aide.",
    ),
    (
        "credit-report-check", 2, ["date_of_birth", "passport_number", "drivers_licence_number",
                                   "drivers_licence_card_number", "medicare_number"], "",
        "Check your credit report", "Vérifiez votre dossier de crédit",
        "Get your free credit report from a credit reporting bureau and look for loans or "
        "accounts you did not open. If you suspect fraud, ask the bureau to put a ban on your "
        "credit file so no one can get credit in your name.",
        "Demandez gratuitement votre rapport de crédit à une agence d'évaluation du crédit et "
        "cherchez des prêts ou comptes que vous n'avez pas ouverts. En cas de doute, demandez à "
        "l'agence de bloquer votre dossier pour que personne n'obtienne de crédit à votre nom.",
    ),
    (
        "id-theft-support", 3, ["passport_number", "drivers_licence_number",
                                "drivers_licence_card_number", "medicare_number"], "",
        "Know where to get help with identity theft", "Sachez où trouver de l'aide en cas d'usurpation d'identité",
        "If someone uses your identity, contact your bank, an identity-theft support service "
        "(in Australia, IDCARE) and report it to the national cybercrime service. You can "
        "complain to us, then to the ombudsman, then to the privacy regulator.",
        "Si quelqu'un utilise votre identité, contactez votre banque, un service d'aide aux "
        "victimes d'usurpation d'identité (en Australie, IDCARE) et signalez-le au service "
        "national de lutte contre la cybercriminalité. Vous pouvez porter plainte auprès de "
        "nous, puis du médiateur, puis de l'autorité de protection des données.",
    ),
    (
        "phone-no-links", 2, ["phone"], "",
        "Do not tap links in unexpected texts", "N'appuyez pas sur les liens des SMS inattendus",
        "Our texts never ask for a password, a code or a payment, and link only to our own "
        "portal. If a text claims to be from us, check its reference on the 'Is this message "
        "from us?' page.",
        "Nos SMS ne demandent jamais de mot de passe, de code ni de paiement, et ne contiennent "
        "de liens que vers notre propre portail. Si un SMS prétend venir de nous, vérifiez sa "
        "référence sur la page « Ce message vient-il de nous ? ».",
    ),
    (
        "phone-sim-swap", 3, ["phone"], "",
        "Know the signs of a SIM swap", "Reconnaissez un transfert de SIM frauduleux",
        "If your phone suddenly shows 'SOS only' or no service, someone may have moved your "
        "number to their SIM. Call your mobile carrier from another phone straight away, and "
        "ask them to add a PIN to your account.",
        "Si votre téléphone affiche soudain « Urgences seulement » ou aucun réseau, quelqu'un a "
        "peut-être transféré votre numéro sur sa SIM. Appelez immédiatement votre opérateur "
        "depuis un autre téléphone et demandez-lui d'ajouter un code PIN à votre compte.",
    ),
    (
        "email-secure-account", 2, ["email"], "",
        "Secure your email account", "Sécurisez votre compte e-mail",
        "Change your email account's password and turn on two-step sign-in. Be wary of emails "
        "asking you to sign in or pay: go to the website yourself instead of using the link.",
        "Changez le mot de passe de votre messagerie et activez la validation en deux étapes. "
        "Méfiez-vous des e-mails qui vous demandent de vous connecter ou de payer : allez "
        "vous-même sur le site au lieu d'utiliser le lien.",
    ),
    (
        "caller-not-proof", 3, ["name", "date_of_birth", "account_number"], "",
        "A caller who knows your details is not proof of who they are",
        "Un appelant qui connaît vos informations ne prouve pas son identité",
        "Scammers may use your name, date of birth or account number to sound genuine. Hang up "
        "and call back on a number you find yourself, such as the one on your bill.",
        "Les escrocs peuvent utiliser votre nom, votre date de naissance ou votre numéro de "
        "compte pour paraître crédibles. Raccrochez et rappelez un numéro que vous avez trouvé "
        "vous-même, par exemple celui de votre facture.",
    ),
    (
        "account-add-pin", 3, ["account_number"], "",
        "Add a support PIN to your account with us", "Ajoutez un code PIN à votre compte client",
        "Call us to add a support PIN. We will ask for it before making any change to your "
        "account, so knowing your account number is not enough.",
        "Appelez-nous pour ajouter un code PIN. Nous vous le demanderons avant toute "
        "modification de votre compte : connaître votre numéro de compte ne suffira plus.",
    ),
    (
        "address-secure-mailbox", 4, ["address"], "",
        "Secure your letterbox", "Sécurisez votre boîte aux lettres",
        "Replacement cards and documents will come by post. Lock your letterbox or collect your "
        "mail promptly, and tell the sender if something you expect does not arrive.",
        "Les cartes et documents de remplacement arriveront par la poste. Fermez votre boîte "
        "aux lettres à clé ou relevez-la rapidement, et prévenez l'expéditeur si un courrier "
        "attendu n'arrive pas.",
    ),
]


def seed(apps, schema_editor):
    DataClass = apps.get_model("customers", "DataClass")
    Step = apps.get_model("customers", "Step")
    classes = {}
    for code, sensitivity, identity, label, label_fr, explanation, explanation_fr in DATA_CLASSES:
        classes[code], _ = DataClass.objects.update_or_create(
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
    for code, priority, class_codes, link, title, title_fr, body, body_fr in STEPS:
        step, _ = Step.objects.update_or_create(
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
        step.data_classes.set([classes[c] for c in class_codes])


def unseed(apps, schema_editor):
    apps.get_model("customers", "Step").objects.filter(code__in=[s[0] for s in STEPS]).delete()
    apps.get_model("customers", "DataClass").objects.filter(
        code__in=[d[0] for d in DATA_CLASSES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
