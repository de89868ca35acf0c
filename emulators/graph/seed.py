"""The tenants the emulator can start with: ``empty``, ``demo`` and ``synthetic:N``.

All of them are deterministic for a given ``--random-seed``.
"""

from __future__ import annotations

import random

from emulators.demo import (
    DEMO_ADMIN, DEMO_DOMAIN, DEMO_NON_ADMIN, DEMO_PORTAL_ADMINISTRATOR, DEMO_PORTAL_READER, DEMO_SHARED,
    DEMO_TENANT_NAME, DROPBOX_FOR_BUSINESS_APP_ID,
)

from .catalog import (
    DROPBOX_ROLE_MSIAM_ACCESS, DROPBOX_ROLE_USER, GALLERY, MICROSOFT_GRAPH_APP_ID, PORTAL_ROLE_ADMINISTRATOR,
    PORTAL_ROLE_READER, portal_app_roles,
)
from .directory import Directory
from .model import DEFAULT_ACCESS_ROLE_ID, Assignment, Group, User

SEEDS_HELP = "empty, demo or synthetic:N"

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adrian Aisha Alan Alejandro Alice Amara Amir Ana Andre Angela Anika Arjun Ava Beatriz "
    "Ben Bianca Carlos Caroline Chen Chloe Christopher Claire Daniel Diego Dmitri Elena Elif Emeka Emma Ethan "
    "Fatima Felix Fiona Gabriel Grace Hana Hannah Hiroshi Ibrahim Ines Isaac Isabel Jamal James Jasmine Javier "
    "Jin Jonas Julia Kai Karim Katarzyna Kenji Laila Lars Leah Leon Liam Lina Lucas Maria Mateo Maya Mei "
    "Michael Mohammed Nadia Naomi Nathan Nia Noah Olivia Omar Oscar Priya Rafael Rahul Rebecca Rosa Ryan "
    "Samuel Sara Sebastian Sofia Sophie Tariq Thomas Valentina Victor Wei Yara Yusuf Zara Zoe"
).split()
LAST_NAMES = (
    "Abbott Adeyemi Alvarez Andersen Bauer Bennett Brooks Castillo Chandra Chen Clarke Costa Dalton Diaz "
    "Dubois Edwards Eriksen Fernandes Fischer Fitzgerald Foster Garcia Gupta Hansen Hartmann Hayes Hernandez "
    "Hoffmann Ibrahim Ito Jensen Johansson Kaur Keller Khan Kim Kowalski Kruger Larsen Lee Lindqvist Lopez "
    "Martin Mbeki Mendoza Meyer Moreau Murphy Nakamura Nguyen Novak Okafor Olsen Park Patel Petrov Quinn "
    "Ramirez Reyes Rossi Russo Sato Schmidt Silva Singh Sorensen Suzuki Tanaka Thompson Torres Vargas Walsh "
    "Weber Williams Wong Yamamoto Young Zhang Zimmermann"
).split()

DEPARTMENTS = {
    "Sales": ("Account Executive", "Sales Manager", "Sales Representative", "Inside Sales Specialist",
              "Regional Sales Director"),
    "Marketing": ("Marketing Manager", "Content Strategist", "Product Marketing Manager", "Marketing Coordinator",
                  "Brand Designer"),
    "Retail": ("Store Manager", "Retail Associate", "Visual Merchandiser", "Assistant Store Manager"),
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager", "QA Engineer",
                    "DevOps Engineer"),
    "Finance": ("Accountant", "Financial Analyst", "Controller", "Payroll Specialist"),
    "Human Resources": ("HR Generalist", "Recruiter", "HR Manager", "Benefits Specialist"),
    "Legal": ("Corporate Counsel", "Paralegal", "Compliance Officer"),
    "Operations": ("Operations Manager", "Logistics Coordinator", "Facilities Manager", "Supply Chain Analyst"),
    "IT": ("IT Administrator", "Systems Engineer", "Help Desk Technician", "Security Analyst"),
    "Customer Support": ("Support Engineer", "Customer Success Manager", "Support Team Lead"),
}
#: office -> (usageLocation, preferredLanguage, city, country, phone prefix)
OFFICES = {
    "Seattle 18/2111": ("US", "en-US", "Seattle", "United States", "+1 206 555 0"),
    "Redmond 21/1220": ("US", "en-US", "Redmond", "United States", "+1 425 555 0"),
    "Boston 3/402": ("US", "en-US", "Boston", "United States", "+1 617 555 0"),
    "London 4/210": ("GB", "en-GB", "London", "United Kingdom", "+44 20 7946 0"),
    "Munich 2/115": ("DE", "de-DE", "Munich", "Germany", "+49 89 5550 "),
}


def new_directory(*, tenant_id: str, client_id: str, random_seed: int) -> Directory:
    directory = Directory(
        tenant_id=tenant_id, tenant_name=DEMO_TENANT_NAME,
        domains=[DEMO_DOMAIN, f"{DEMO_TENANT_NAME.lower()}.onmicrosoft.com"],
        client_id=client_id, client_name="Provisioning Portal", seed=random_seed,
    )
    # The portal's own app registration (single tenant) and the first-party Microsoft Graph.
    directory.add_sp(client_id, {
        "appDisplayName": "Provisioning Portal", "displayName": "Provisioning Portal",
        "appOwnerOrganizationId": tenant_id, "appRoleAssignmentRequired": False,
        "servicePrincipalType": "Application", "signInAudience": "AzureADMyOrg",
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "appRoles": portal_app_roles(),
        "publisherName": DEMO_TENANT_NAME,
        "homepage": None, "loginUrl": None, "logoutUrl": None, "replyUrls": [], "description": None,
        "appDescription": None, "applicationTemplateId": None, "preferredSingleSignOnMode": None,
        "info": {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None,
                 "termsOfServiceUrl": None},
    }, sp_id=directory.new_id())
    directory.add_sp(MICROSOFT_GRAPH_APP_ID, GALLERY[MICROSOFT_GRAPH_APP_ID], sp_id=directory.new_id())
    return directory


def build(name: str, *, tenant_id: str, client_id: str, random_seed: int) -> Directory:
    """The named seed; raises ValueError for an unknown one."""
    directory = new_directory(tenant_id=tenant_id, client_id=client_id, random_seed=random_seed)
    if name == "empty":
        pass
    elif name == "demo":
        _demo(directory, random.Random(random_seed))
    elif name.startswith("synthetic:"):
        try:
            count = int(name.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"unknown seed {name!r}: expected {SEEDS_HELP}") from None
        if count < 1:
            raise ValueError("synthetic:N needs N >= 1")
        _synthetic(directory, count, random.Random(random_seed))
    else:
        raise ValueError(f"unknown seed {name!r}: expected {SEEDS_HELP}")
    # Seeding is not a change a delta client should see: the log starts here.
    directory.log.clear()
    directory.log_base = 0
    return directory


def _ascii(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _date(rng: random.Random, start_year: int = 2019, end_year: int = 2024) -> str:
    year = rng.randint(start_year, end_year)
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(7, 18):02d}:" \
           f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _person(directory: Directory, rng: random.Random, given: str, surname: str, department: str,
            employee_number: int, upn: str | None = None, title: str | None = None,
            office: str | None = None, enabled: bool = True) -> User:
    local = f"{_ascii(given)}.{_ascii(surname)}"
    if upn is None:
        upn = f"{local}@{DEMO_DOMAIN}"
        suffix = 2
        while upn.lower() in directory.upn_index:
            upn = f"{local}{suffix}@{DEMO_DOMAIN}"
            suffix += 1
    office = office or rng.choice(list(OFFICES))
    usage, language, city, country, phone = OFFICES[office]
    user = User(
        id=directory.new_id(), userPrincipalName=upn, mail=upn, mailNickname=upn.split("@")[0],
        displayName=f"{given} {surname}", givenName=given, surname=surname, department=department,
        jobTitle=title or rng.choice(DEPARTMENTS.get(department, ("Specialist",))),
        employeeId=f"E{employee_number:05d}", companyName=DEMO_TENANT_NAME, officeLocation=office,
        usageLocation=usage, preferredLanguage=language, city=city, country=country,
        businessPhones=[f"{phone}{rng.randint(100, 999)}"],
        mobilePhone=f"{phone}{rng.randint(100, 999)}" if rng.random() < 0.6 else None,
        accountEnabled=enabled, createdDateTime=_date(rng),
    )
    directory.add_user(user, record=False)
    return user


def _group(directory: Directory, rng: random.Random, name: str, description: str, nickname: str,
           unified: bool = False) -> Group:
    values = dict(
        id=directory.new_id(), displayName=name, description=description, mailNickname=nickname,
        mailEnabled=unified, securityEnabled=not unified, groupTypes=["Unified"] if unified else [],
        createdDateTime=_date(rng, 2019, 2021), creationOptions=[], resourceBehaviorOptions=[],
        resourceProvisioningOptions=[], securityIdentifier=f"S-1-12-1-{rng.getrandbits(31)}-{rng.getrandbits(31)}",
        isAssignableToRole=None, visibility="Private" if unified else None,
    )
    if unified:
        values["mail"] = f"{nickname}@{DEMO_DOMAIN}"
        values["proxyAddresses"] = [f"SMTP:{values['mail']}"]
        values["renewedDateTime"] = values["createdDateTime"]
    group = Group(**values)
    directory.add_group(group, record=False)
    return group


def _member(directory: Directory, group: Group, oid: str, kind: str) -> None:
    directory.members[group.id][oid] = kind


def _assign(directory: Directory, rng: random.Random, sp_id: str, principal_id: str, principal_type: str,
            role_id: str) -> None:
    import base64

    aid = base64.urlsafe_b64encode(rng.getrandbits(256).to_bytes(32, "big")).rstrip(b"=").decode()
    directory._store_assignment(Assignment(aid, role_id, _date(rng, 2022, 2024), principal_id, principal_type, sp_id))


def _demo(directory: Directory, rng: random.Random) -> None:
    """Contoso: about two hundred people in ten departments, fifteen groups with nesting, and the
    Dropbox for Business enterprise application with a mix of assignments."""
    number = iter(range(10001, 99999))
    by_department: dict[str, list[User]] = {name: [] for name in DEPARTMENTS}

    admin = _person(directory, rng, DEMO_ADMIN["given_name"], DEMO_ADMIN["surname"], "IT", next(number),
                    upn=DEMO_ADMIN["email"], title="IT Administrator", office="Redmond 21/1220")
    non_admin = _person(directory, rng, DEMO_NON_ADMIN["given_name"], DEMO_NON_ADMIN["surname"], "Operations",
                        next(number), upn=DEMO_NON_ADMIN["email"], title="Operations Manager",
                        office="Seattle 18/2111")
    by_department["IT"].append(admin)
    by_department["Operations"].append(non_admin)
    shared = []
    for person in DEMO_SHARED:
        user = _person(directory, rng, person["given_name"], person["surname"], person["department"],
                       next(number), upn=person["email"])
        by_department[person["department"]].append(user)
        shared.append(user)

    departments = list(DEPARTMENTS)
    weights = [24, 22, 26, 30, 14, 10, 6, 16, 12, 14]
    generated: list[User] = []
    names_used = {(u.givenName, u.surname) for u in directory.users.values()}
    while len(directory.users) < 200:
        given, surname = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if (given, surname) in names_used:
            continue
        names_used.add((given, surname))
        department = rng.choices(departments, weights)[0]
        user = _person(directory, rng, given, surname, department, next(number))
        by_department[department].append(user)
        generated.append(user)

    # Some accounts are disabled (leavers not yet removed, people on leave).
    disabled = rng.sample(generated, 9)
    for user in disabled:
        user.accountEnabled = False

    sp = directory.add_sp(DROPBOX_FOR_BUSINESS_APP_ID, GALLERY[DROPBOX_FOR_BUSINESS_APP_ID],
                          sp_id=directory.new_id())

    # Groups: ten departments nested in All Staff, and five cross-cutting ones.
    department_groups = {}
    for name in departments:
        nickname = _ascii(name)
        group = _group(directory, rng, name, f"Everyone in {name}", nickname)
        for user in by_department[name]:
            _member(directory, group, user.id, "user")
        department_groups[name] = group
    all_staff = _group(directory, rng, "All Staff", "Every employee of Contoso, through the department groups",
                       "allstaff")
    for group in department_groups.values():
        _member(directory, all_staff, group.id, "group")

    dropbox_users = _group(directory, rng, "Dropbox Users", "People who get a Dropbox account", "dropboxusers")
    engineers, finance = by_department["Engineering"], by_department["Finance"]
    for user in rng.sample(engineers, min(12, len(engineers))) + rng.sample(finance, min(6, len(finance))):
        _member(directory, dropbox_users, user.id, "user")
    _member(directory, dropbox_users, department_groups["Marketing"].id, "group")
    _member(directory, dropbox_users, disabled[0].id, "user")

    leaders = [u for u in generated if any(w in u.jobTitle for w in ("Manager", "Director", "Controller", "Lead"))]
    leadership = _group(directory, rng, "Leadership", "Managers and directors", "leadership")
    for user in [admin] + leaders[:11]:
        _member(directory, leadership, user.id, "user")

    contractors = _group(directory, rng, "Contractors", "External contractors with limited access", "contractors")
    contractor_people = rng.sample(generated, 5)
    for user in contractor_people:
        _member(directory, contractors, user.id, "user")

    phoenix = _group(directory, rng, "Project Phoenix", "Cross-team project workspace", "projectphoenix",
                     unified=True)
    for user in rng.sample(generated, 12) + shared[:2]:
        _member(directory, phoenix, user.id, "user")

    # Who has Dropbox: two groups, Default Access for leadership, and direct assignments.
    _assign(directory, rng, sp.id, department_groups["Sales"].id, "Group", DROPBOX_ROLE_USER)
    _assign(directory, rng, sp.id, dropbox_users.id, "Group", DROPBOX_ROLE_USER)
    _assign(directory, rng, sp.id, leadership.id, "Group", DEFAULT_ACCESS_ROLE_ID)
    for user in [admin, non_admin] + shared:
        _assign(directory, rng, sp.id, user.id, "User", DROPBOX_ROLE_USER)
    direct_default = [u for u in by_department["Legal"] if u.accountEnabled][:2]
    for user in direct_default:
        _assign(directory, rng, sp.id, user.id, "User", DEFAULT_ACCESS_ROLE_ID)
    for user in disabled[1:3]:
        _assign(directory, rng, sp.id, user.id, "User", DROPBOX_ROLE_USER)
    _assign(directory, rng, sp.id, contractor_people[0].id, "User", DROPBOX_ROLE_MSIAM_ACCESS)

    # A few people left recently: they sit in deleted items, restorable for 30 days.
    leavers = []
    for index in range(3):
        while True:
            given, surname = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (given, surname) not in names_used:
                names_used.add((given, surname))
                break
        department = rng.choice(departments)
        user = _person(directory, rng, given, surname, department, next(number))
        _member(directory, department_groups[department], user.id, "user")
        leavers.append(user)
    _assign(directory, rng, sp.id, leavers[0].id, "User", DROPBOX_ROLE_USER)
    for user in leavers:
        directory.delete_user(user)
        user.deletedDateTime = _date(rng, 2025, 2025)

    # The portal's own app roles (README, "Sign in with Microsoft"): one administrator, one reader.
    portal = directory.sp_by_app[directory.client_id]
    _assign(directory, rng, portal, directory.find_user(DEMO_PORTAL_ADMINISTRATOR).id, "User",
            PORTAL_ROLE_ADMINISTRATOR)
    _assign(directory, rng, portal, directory.find_user(DEMO_PORTAL_READER).id, "User", PORTAL_ROLE_READER)


def _synthetic(directory: Directory, count: int, rng: random.Random) -> None:
    """``count`` users in groups of a hundred, every group assigned to Dropbox for Business."""
    departments = list(DEPARTMENTS)
    offices = list(OFFICES)
    titles = {name: DEPARTMENTS[name] for name in departments}
    created = "2023-01-02T09:00:00Z"
    users = directory.users
    order = directory.user_order
    upns = directory.upn_index
    new_id = directory.new_id
    for index in range(count):
        given = FIRST_NAMES[index % len(FIRST_NAMES)]
        surname = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
        department = departments[index % len(departments)]
        office = offices[index % len(offices)]
        usage, language, city, country, _ = OFFICES[office]
        uid = new_id()
        nickname = f"user{index:06d}"
        upn = f"{nickname}@{DEMO_DOMAIN}"
        user = User.__new__(User)
        user.id = uid
        user.userPrincipalName = upn
        user.mail = upn
        user.mailNickname = nickname
        user.displayName = f"{given} {surname} {index:06d}"
        user.givenName = given
        user.surname = surname
        user.jobTitle = titles[department][index % len(titles[department])]
        user.department = department
        user.employeeId = f"S{index:07d}"
        user.companyName = DEMO_TENANT_NAME
        user.officeLocation = office
        user.usageLocation = usage
        user.preferredLanguage = language
        user.mobilePhone = None
        user.businessPhones = ()
        user.accountEnabled = index % 50 != 49
        user.createdDateTime = created
        user.city = city
        user.country = country
        user.userType = "Member"
        user.deletedDateTime = None
        user.extra = None
        users[uid] = user
        order.append(uid)
        upns[upn] = uid
    sp = directory.add_sp(DROPBOX_FOR_BUSINESS_APP_ID, GALLERY[DROPBOX_FOR_BUSINESS_APP_ID],
                          sp_id=directory.new_id())
    group_count = max(1, count // 100)
    per_group = -(-count // group_count)
    user_ids = directory.user_order
    for number in range(group_count):
        group = _group(directory, rng, f"Synthetic Group {number + 1:04d}", "Generated for load tests",
                       f"synthetic{number + 1:04d}")
        members = directory.members[group.id]
        for uid in user_ids[number * per_group:(number + 1) * per_group]:
            members[uid] = "user"
        _assign(directory, rng, sp.id, group.id, "Group", DROPBOX_ROLE_USER)
