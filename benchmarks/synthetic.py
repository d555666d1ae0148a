"""Deterministic rows of a synthetic organisation: users, groups and memberships.

The same seed and size always give the same rows, so two runs on two backends
list the same directory. Names come from ten writing systems (Latin with
diacritics, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Han, Japanese kana and
kanji, Hangul, Thai), and emails are ASCII except for a few Latin local parts
that keep their diacritics. Every normalised column is computed with the store's
own functions (``normalize_email``, ``email_domain``, ``fold``), as the API would
compute it.

Distributions, chosen to look like a company directory rather than measured from
one:

* statuses: 85 % active, 10 % invited, 5 % deactivated;
* 12 email domains with skewed weights (``example.com`` is 30 %);
* ``max(20, users // 1000)`` groups, about 30 % nested under an earlier group, at
  most three levels deep;
* each user in 0, 1, 2 or 3 groups (20/40/25/15 %), groups picked with a Zipf-like
  skew so that a few groups are large; 3 % of memberships are ``maintainer``;
* ``created_at`` rises with the user's index over four years, with jitter, and
  40 % of users were updated later.

This module only builds rows; ``loader.py`` writes them.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

from roster.store.validation import email_domain, fold, normalize_email

#: The default seed; changing it changes every generated row.
DEFAULT_SEED = 20261204

#: The end of the generated history. Fixed, so that rows do not depend on the day
#: of the run.
HISTORY_END = datetime(2026, 12, 1, tzinfo=UTC)
HISTORY_SPAN = timedelta(days=4 * 365)

STATUS_WEIGHTS = (("active", 85), ("invited", 10), ("deactivated", 5))

DOMAIN_WEIGHTS = (
    ("example.com", 30),
    ("example.org", 15),
    ("corp.example.net", 12),
    ("mail.example.de", 8),
    ("example.co.jp", 6),
    ("example.fr", 6),
    ("research.example.edu", 5),
    ("example.ru", 5),
    ("example.in", 5),
    ("example.com.br", 4),
    ("example.kr", 2),
    ("contractors.example.io", 2),
)

#: How many groups a user is a direct member of: (count, weight in percent).
GROUPS_PER_USER_WEIGHTS = ((0, 20), (1, 40), (2, 25), (3, 15))


@dataclass(frozen=True)
class Script:
    """Given and family names of one writing system, each with an ASCII spelling
    for the email's local part."""

    weight: int
    given_names: tuple[tuple[str, str], ...]
    family_names: tuple[tuple[str, str], ...]
    family_first: bool = False
    separator: str = " "


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``"native:ascii native:ascii ..."``; a bare word is its own spelling."""
    pairs = []
    for word in text.split():
        native, _, ascii_form = word.partition(":")
        pairs.append((native, ascii_form or _strip_accents(native).lower()))
    return tuple(pairs)


def _strip_accents(text: str) -> str:
    replacements = {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae"}
    text = "".join(replacements.get(char, char) for char in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


SCRIPTS = (
    Script(
        30,
        _pairs(
            "Anna James Mary Robert Linda Michael Sarah David Emily Daniel Olivia "
            "Thomas Grace Samuel Hannah Joseph Chloe Martin Laura Peter Rachel Omar "
            "Marcus Maria Susan Kevin Amelia Brian Ruth Edward"
        ),
        _pairs(
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor "
            "Moore Martin Jackson Thompson White Harris Clark Lewis Walker Hall "
            "Young King Wright Scott Green Baker Adams Nelson Hill Campbell"
        ),
    ),
    Script(
        12,
        _pairs(
            "José María Lucía Martín Sofía Álvaro Inés Raúl Joaquín Camila Ramón "
            "Begoña Adrián Valentina Tomás Mariana João Conceição Luís Gonçalo"
        ),
        _pairs(
            "García Rodríguez Martínez López González Pérez Sánchez Gómez Díaz "
            "Fernández Muñoz Jiménez Ruiz Hernández Álvarez Castillo Araújo "
            "Gonçalves Magalhães Simões"
        ),
    ),
    Script(
        13,
        _pairs(
            "Jürgen Jörg Björn Søren Øyvind Łukasz Małgorzata Zoë Amélie Hélène "
            "François Cécile Stéphane Agnès Gaëlle Käthe Müge Ğökhan Çağla Ayşe"
        ),
        _pairs(
            "Müller Schäfer Groß Weiß Straße Jørgensen Håkansson Wójcik Kowalczyk "
            "Lewandowski Dubois Lefèvre Bérénger Moreau Rousseau Öztürk Yılmaz "
            "Şahin Çelik Nyström"
        ),
    ),
    Script(
        8,
        _pairs(
            "Анна:anna Иван:ivan Мария:maria Дмитрий:dmitry Ольга:olga Сергей:sergey "
            "Елена:elena Алексей:alexey Наталья:natalya Андрей:andrey Тарас:taras "
            "Оксана:oksana Юлия:yulia Михаил:mikhail"
        ),
        _pairs(
            "Иванова:ivanova Петров:petrov Смирнова:smirnova Кузнецов:kuznetsov "
            "Попова:popova Соколов:sokolov Лебедева:lebedeva Козлов:kozlov "
            "Шевченко:shevchenko Бондаренко:bondarenko Ковальчук:kovalchuk "
            "Морозова:morozova"
        ),
    ),
    Script(
        4,
        _pairs(
            "Γιώργος:giorgos Μαρία:maria Νίκος:nikos Ελένη:eleni Δημήτρης:dimitris "
            "Κατερίνα:katerina Σοφία:sofia Κώστας:kostas"
        ),
        _pairs(
            "Παπαδόπουλος:papadopoulos Οικονόμου:oikonomou Γεωργίου:georgiou "
            "Νικολάου:nikolaou Βασιλείου:vasileiou Αντωνίου:antoniou"
        ),
    ),
    Script(
        6,
        _pairs(
            "محمد:mohammed فاطمة:fatima أحمد:ahmed مريم:maryam علي:ali نور:nour "
            "يوسف:youssef ليلى:layla عمر:omar سارة:sara"
        ),
        _pairs(
            "العلي:alali الحسن:alhassan منصور:mansour حداد:haddad خليل:khalil "
            "السيد:elsayed عبدالله:abdullah"
        ),
    ),
    Script(
        3,
        _pairs(
            "נועה:noa יונתן:yonatan תמר:tamar אביגיל:avigail דניאל:daniel מיכל:michal"
        ),
        _pairs("כהן:cohen לוי:levi מזרחי:mizrahi פרץ:peretz ביטון:biton"),
    ),
    Script(
        6,
        _pairs(
            "प्रिया:priya राहुल:rahul अनीता:anita विकास:vikas सुनीता:sunita "
            "अर्जुन:arjun कविता:kavita रोहन:rohan"
        ),
        _pairs(
            "शर्मा:sharma वर्मा:verma गुप्ता:gupta सिंह:singh पटेल:patel "
            "मिश्रा:mishra जोशी:joshi"
        ),
    ),
    Script(
        7,
        _pairs(
            "伟:wei 芳:fang 娜:na 敏:min 静:jing 磊:lei 洋:yang 艳:yan 勇:yong 杰:jie"
        ),
        _pairs(
            "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 周:zhou"
        ),
        family_first=True,
        separator="",
    ),
    Script(
        5,
        _pairs(
            "健:ken 陽菜:hina 翔:sho 結衣:yui 大翔:hiroto さくら:sakura "
            "ゆうき:yuki 美咲:misaki"
        ),
        _pairs(
            "佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 渡辺:watanabe "
            "伊藤:ito 山本:yamamoto"
        ),
        family_first=True,
    ),
    Script(
        4,
        _pairs("민준:minjun 서연:seoyeon 지호:jiho 하은:haeun 도윤:doyun 지우:jiwoo"),
        _pairs("김:kim 이:lee 박:park 최:choi 정:jung 강:kang"),
        family_first=True,
        separator="",
    ),
    Script(
        2,
        _pairs("สมชาย:somchai สมหญิง:somying อนันต์:anan มาลี:malee"),
        _pairs("ศรีสุข:srisuk วงศ์ใหญ่:wongyai แก้วมณี:kaewmanee"),
    ),
)

#: Department words for group names, in several languages.
GROUP_WORDS = (
    "platform",
    "payments",
    "data-eng",
    "security",
    "sre",
    "mobile",
    "design",
    "support",
    "finance",
    "legal",
    "Équipe données",
    "Développement",
    "Vertrieb Süd",
    "Qualitätssicherung",
    "Отдел продаж",
    "Инфраструктура",
    "営業部",
    "開発チーム",
    "데이터팀",
    "Ομάδα υποδομών",
    "فريق الدعم",
    "विपणन",
)


@dataclass(frozen=True)
class GroupRow:
    id: uuid.UUID
    name: str
    name_fold: str
    description: str
    parent_id: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    email_norm: str
    email_domain: str
    name: str
    name_fold: str
    status: str
    image: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MembershipRow:
    group_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    created_at: datetime


def _random_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def group_count(users: int) -> int:
    """Return the number of ordinary groups generated for ``users`` users."""
    return max(20, users // 1000)


def make_groups(users: int, seed: int) -> list[GroupRow]:
    """Build the ordinary groups, parents before their children."""
    rng = random.Random(f"groups-{seed}")
    count = group_count(users)
    groups: list[GroupRow] = []
    depth: dict[uuid.UUID, int] = {}
    for index in range(count):
        word = GROUP_WORDS[index % len(GROUP_WORDS)]
        name = f"{word} {index // len(GROUP_WORDS) + 1}"
        parent_id = None
        if index >= 10 and rng.random() < 0.3:
            parent = groups[rng.randrange(len(groups))]
            if depth[parent.id] < 3:
                parent_id = parent.id
        created_at = HISTORY_END - HISTORY_SPAN + timedelta(days=index % 30)
        group = GroupRow(
            id=_random_uuid(rng),
            name=name,
            name_fold=fold(name),
            description=f"Generated group {index + 1} of {count}",
            parent_id=parent_id,
            created_at=created_at,
        )
        depth[group.id] = 1 + (depth[parent_id] if parent_id else 0)
        groups.append(group)
    return groups


class UserFactory:
    """Builds users one at a time and keeps emails unique, ignoring case."""

    def __init__(self, users: int, seed: int) -> None:
        self._rng = random.Random(f"users-{seed}")
        self._users = users
        self._scripts = SCRIPTS
        self._script_weights = list(accumulate(s.weight for s in SCRIPTS))
        self._domains = [d for d, _ in DOMAIN_WEIGHTS]
        self._domain_weights = list(accumulate(w for _, w in DOMAIN_WEIGHTS))
        self._statuses = [s for s, _ in STATUS_WEIGHTS]
        self._status_weights = list(accumulate(w for _, w in STATUS_WEIGHTS))
        # Number of earlier users per lower-case email, to add a suffix on repeats.
        self._seen: dict[str, int] = {}

    def make(self, index: int) -> UserRow:
        rng = self._rng
        script = rng.choices(self._scripts, cum_weights=self._script_weights)[0]
        given_name, given_spelling = rng.choice(script.given_names)
        family_name, family_spelling = rng.choice(script.family_names)
        parts = (
            (family_name, given_name)
            if script.family_first
            else (given_name, family_name)
        )
        name = script.separator.join(parts)

        email = self._email(given_name, given_spelling, family_name, family_spelling)
        step = HISTORY_SPAN / self._users
        created_at = HISTORY_END - HISTORY_SPAN + step * index
        created_at += timedelta(microseconds=rng.randrange(1_000_000))
        updated_at = created_at
        version = 1
        if rng.random() < 0.4:
            updated_at += (HISTORY_END - created_at) * rng.random()
            version += rng.randint(1, 5)
        status = rng.choices(self._statuses, cum_weights=self._status_weights)[0]
        image = None
        if rng.random() < 0.25:
            image = f"https://avatars.example.com/u/{rng.getrandbits(64):016x}.png"
        return UserRow(
            id=_random_uuid(rng),
            email=email,
            email_norm=normalize_email(email),
            email_domain=email_domain(email),
            name=name,
            name_fold=fold(name),
            status=status,
            image=image,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
        )

    def _email(
        self,
        given_name: str,
        given_spelling: str,
        family_name: str,
        family_spelling: str,
    ) -> str:
        rng = self._rng
        domain = rng.choices(self._domains, cum_weights=self._domain_weights)[0]
        # A few Latin names keep their diacritics in the address (SMTPUTF8).
        accented = not given_name.isascii() and _strip_accents(given_name).isascii()
        if accented and rng.random() < 0.05:
            given_spelling, family_spelling = given_name.lower(), family_name.lower()
        layout = rng.randrange(4)
        if layout == 0:
            local = f"{given_spelling}.{family_spelling}"
        elif layout == 1:
            local = f"{given_spelling[0]}.{family_spelling}"
        elif layout == 2:
            local = f"{given_spelling}{family_spelling}"
        else:
            local = f"{family_spelling}.{given_spelling}"
        address = f"{local}@{domain}"
        repeats = self._seen.get(address, 0)
        self._seen[address] = repeats + 1
        if repeats:
            # Names contain no digits, so a numbered address never equals the
            # address of another name.
            address = f"{local}{repeats}@{domain}"
        if address[0].isascii() and rng.random() < 0.03:
            # Some people type their address with capitals; email_norm folds them.
            address = address[0].upper() + address[1:]
        return address


class MembershipPicker:
    """Chooses each user's groups with a skew towards the first groups."""

    def __init__(self, groups: list[GroupRow], admins_id: uuid.UUID, seed: int) -> None:
        self._rng = random.Random(f"memberships-{seed}")
        self._groups = groups
        self._group_weights = list(
            accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(groups)))
        )
        self._counts = [c for c, _ in GROUPS_PER_USER_WEIGHTS]
        self._count_weights = list(accumulate(w for _, w in GROUPS_PER_USER_WEIGHTS))
        self._admins_id = admins_id

    def pick(self, index: int, user: UserRow) -> list[MembershipRow]:
        rng = self._rng
        group_total = rng.choices(self._counts, cum_weights=self._count_weights)[0]
        chosen: dict[uuid.UUID, GroupRow] = {}
        while len(chosen) < group_total:
            group = rng.choices(self._groups, cum_weights=self._group_weights)[0]
            chosen[group.id] = group
        rows = []
        for group in chosen.values():
            role = "maintainer" if rng.random() < 0.03 else "member"
            since = max(user.created_at, group.created_at) + timedelta(hours=1)
            rows.append(MembershipRow(group.id, user.id, role, since))
        if index % 2000 == 0:
            rows.append(
                MembershipRow(self._admins_id, user.id, "member", user.created_at)
            )
        return rows


def iter_user_batches(
    users: int,
    seed: int,
    groups: list[GroupRow],
    admins_id: uuid.UUID,
    batch_size: int,
) -> Iterator[tuple[list[UserRow], list[MembershipRow]]]:
    """Yield the users in creation order, ``batch_size`` at a time, with the
    memberships of each batch."""
    factory = UserFactory(users, seed)
    picker = MembershipPicker(groups, admins_id, seed)
    for start in range(0, users, batch_size):
        user_rows: list[UserRow] = []
        membership_rows: list[MembershipRow] = []
        for index in range(start, min(start + batch_size, users)):
            user = factory.make(index)
            user_rows.append(user)
            membership_rows.extend(picker.pick(index, user))
        yield user_rows, membership_rows
