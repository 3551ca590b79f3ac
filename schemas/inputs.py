"""Input contracts: for each source, its canonical columns, the header spellings seen in real
files (Turkish or English, any order), the unit and the meaning.

Header matching folds Turkish case (``İ``/``i``, ``I``/``ı``) and strips stray spaces and
punctuation, so ``ÇALIŞAN SAYISI`` and `` çalışan  sayısı`` both name ``employees``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # "string", "int", "float", "date", "bool"
    meaning: str
    unit: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = True


@dataclass(frozen=True)
class SourceContract:
    name: str
    description: str
    columns: tuple[Column, ...]
    file_patterns: tuple[str, ...] = ("*.csv", "*.xlsx")
    extra: dict = field(default_factory=dict)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CHAMBER_REGISTRY = SourceContract(
    name="chamber_registry",
    description="Member registry of a chamber of commerce and industry: one row per member firm.",
    columns=(
        Column(
            "registry_no", "string", "chamber registry number", aliases=("sicil no", "sicil numarası", "registry no")
        ),
        Column(
            "firm_name",
            "string",
            "trade name",
            aliases=("firma ünvanı", "firma unvanı", "firma adı", "trade name", "firm name"),
        ),
        Column(
            "nace_code",
            "string",
            "NACE Rev.2 activity code as written (4- or 6-digit)",
            aliases=("nace kodu", "nace", "nace code", "faaliyet kodu"),
        ),
        Column(
            "committee",
            "string",
            "chamber committee (meslek grubu) number",
            aliases=("meslek grubu", "committee"),
            required=False,
        ),
        Column(
            "province",
            "string",
            "province as written (name, abbreviation or plate code); real lists have none: the "
            "province is then resolved from the districts, the folder or the chamber's name",
            aliases=("il", "province", "şehir"),
            required=False,
        ),
        Column("district", "string", "district (ilçe)", aliases=("ilçe", "district"), required=False),
        Column(
            "employees",
            "float",
            "employees at the registry date",
            "persons",
            aliases=("çalışan sayısı", "calisan sayisi", "employees", "personel sayısı"),
        ),
        Column(
            "founded", "date", "founding date", aliases=("kuruluş tarihi", "founded", "founding date"), required=False
        ),
        Column(
            "capital_try",
            "float",
            "registered capital",
            "TRY",
            aliases=("sermaye", "sermaye (tl)", "capital"),
            required=False,
        ),
        Column(
            "turnover_try",
            "float",
            "net sales of the reference year (a few chambers add it)",
            "TRY",
            aliases=("ciro", "ciro (tl)", "net satışlar (tl)", "turnover"),
            required=False,
        ),
        Column(
            "exporter",
            "bool",
            "firm exports (E/H, Evet/Hayır)",
            aliases=("ihracatçı", "ihracatci", "exporter"),
            required=False,
        ),
        Column(
            "capacity_report",
            "bool",
            "holds a capacity report (Var/Yok)",
            aliases=("kapasite raporu", "capacity report"),
            required=False,
        ),
    ),
)

SGK_EMPLOYMENT = SourceContract(
    name="sgk_employment",
    description=(
        "Social-security (SGK) statistics: workplaces and insured employees by province x NACE x year. "
        "Rows whose province is 'Türkiye' are the published national totals (they include employment "
        "not allocated to any province); NACE 'C' is the manufacturing total."
    ),
    columns=(
        Column("year", "int", "reference year", aliases=("yıl", "yil", "year")),
        Column(
            "province",
            "string",
            "province (plate code or name); Türkiye = national total",
            aliases=("il", "il adı", "province"),
        ),
        Column(
            "plate_code_raw",
            "string",
            "plate code column when given separately",
            aliases=("il kodu", "plaka", "plate code"),
            required=False,
        ),
        Column(
            "nace_code",
            "string",
            "NACE Rev.2 class, or C for all manufacturing",
            aliases=("nace kodu", "nace", "nace code", "faaliyet kodu"),
        ),
        Column("activity", "string", "activity name", aliases=("faaliyet", "faaliyet adı", "activity"), required=False),
        Column(
            "establishments",
            "float",
            "workplaces (işyeri sayısı)",
            "workplaces",
            aliases=("işyeri sayısı", "isyeri sayisi", "workplaces", "establishments"),
        ),
        Column(
            "employment",
            "float",
            "insured employees (sigortalı sayısı)",
            "persons",
            aliases=("sigortalı sayısı", "sigortali sayisi", "insured employees", "employment"),
        ),
    ),
    file_patterns=("*.csv",),
)

EXPORTS_BY_SECTOR = SourceContract(
    name="exports_by_sector",
    description="Exports by province x exporter sector x year (Turkish Exporters Assembly layout), thousand USD.",
    columns=(
        Column("year", "int", "year", aliases=("yıl", "yil", "year")),
        Column("province", "string", "province", aliases=("il", "province")),
        Column(
            "exporter_sector",
            "string",
            "exporter sector name as published that year",
            aliases=("sektör", "sektor", "sector"),
        ),
        Column(
            "exports_thousand_usd",
            "float",
            "exports",
            "thousand USD",
            aliases=("ihracat (bin $)", "ihracat (1000 $)", "ihracat", "exports (thousand usd)"),
        ),
    ),
    file_patterns=("*.csv",),
)

CONSULTATION = SourceContract(
    name="consultation",
    description="Stakeholder consultation meeting records: one row per institution's stance on a sector.",
    columns=(
        Column("province", "string", "province", aliases=("il", "province")),
        Column("meeting_date", "date", "meeting date", aliases=("tarih", "toplantı tarihi", "date")),
        Column("institution", "string", "participating institution", aliases=("kurum", "institution")),
        Column(
            "institution_type",
            "string",
            "chamber, development agency, university, NGO",
            aliases=("kurum türü", "kurum turu", "institution type"),
        ),
        Column(
            "nace_code", "string", "NACE class of the sector discussed", aliases=("nace kodu", "sektör nace", "nace")
        ),
        Column(
            "stance",
            "string",
            "support / neutral / oppose (Destek / Tarafsız / Karşı)",
            aliases=("tutum", "görüş", "stance"),
        ),
        Column("note", "string", "free-text note", aliases=("not", "açıklama", "note"), required=False),
    ),
    file_patterns=("*.csv", "*.xlsx"),
)

CAPACITY_REGISTER = SourceContract(
    name="capacity_register",
    description=(
        "TOBB industrial capacity register: registered producers and capacity by province x NACE division "
        "(product group). The capacity is masked as '*' where three or fewer producers exist: kept as null "
        "with capacity_masked = true, never read as zero."
    ),
    columns=(
        Column("province", "string", "province", aliases=("il", "province")),
        Column(
            "nace_division",
            "string",
            "NACE Rev.2 division (2 digits)",
            aliases=("nace bölümü", "nace bolumu", "nace division", "bölüm"),
        ),
        Column(
            "product", "string", "product group", aliases=("ürün grubu", "ürün adı", "ürün", "product"), required=False
        ),
        Column(
            "producers",
            "float",
            "registered producers",
            "firms",
            aliases=("üretici sayısı", "producers", "firma sayısı"),
        ),
        Column(
            "capacity", "float", "registered capacity ('*' = masked)", "unit per year", aliases=("kapasite", "capacity")
        ),
        Column("unit", "string", "unit of the capacity", aliases=("birim", "unit"), required=False),
    ),
)

EXPORTER_EXPORTS = SourceContract(
    name="exporter_exports",
    description="Exporters' union members' exports, firm by firm and year, USD.",
    columns=(
        Column("year", "int", "year", aliases=("yıl", "yil", "year")),
        Column("registry_no", "string", "chamber registry number", aliases=("sicil no", "registry no"), required=False),
        Column("firm_name", "string", "trade name", aliases=("firma ünvanı", "firma adı", "firm name")),
        Column("province", "string", "province", aliases=("il", "province")),
        Column("nace_code", "string", "NACE class of the firm", aliases=("nace kodu", "nace", "nace code")),
        Column(
            "exports_usd",
            "float",
            "exports",
            "USD",
            aliases=("ihracat (usd)", "ihracat ($)", "exports (usd)", "ihracat"),
        ),
    ),
)

SECTOR_TURNOVER = SourceContract(
    name="sector_turnover",
    description=(
        "Turnover (net sales, TRY) by province x NACE class or division x year, from the statistics "
        "office's annual industry and services statistics or tax-return aggregates. Division figures "
        "are allocated to their classes in proportion to the province's employment; suppressed cells "
        "(C, *, ..) are null with turnover_suppressed = true, never zero."
    ),
    columns=(
        Column("year", "int", "reference year", aliases=("yıl", "yil", "year")),
        Column("province", "string", "province (name or plate code)", aliases=("il", "il adı", "province")),
        Column(
            "nace_code",
            "string",
            "NACE Rev.2 division (2 digits) or class (4 digits)",
            aliases=("nace kodu", "nace", "nace rev.2", "nace code", "faaliyet kodu"),
        ),
        Column("activity", "string", "activity name", aliases=("faaliyet", "faaliyet adı", "activity"), required=False),
        Column(
            "turnover_try",
            "float",
            "turnover (net sales); C, * or .. where suppressed",
            "TRY",
            aliases=("ciro", "ciro (tl)", "net satışlar", "net satışlar (tl)", "turnover", "turnover (try)"),
        ),
    ),
    file_patterns=("*.csv", "*.xlsx"),
)

AGENCY_DB_TABLES: dict[str, tuple[str, ...]] = {
    # table -> the measures it contributes, long format (plate_code, nace_class, measure, value)
    "sector_associations": ("associations",),
    "joint_projects": ("joint_projects",),
    "cooperation_survey": ("cooperation_willingness",),
    "education_programmes": ("programmes", "graduates"),
    "rd_design_centres": ("rd_design_centres",),
    "industrial_zones": ("specialised_zones",),
    "testing_labs": ("testing_labs",),
}

AGENCY_DB = SourceContract(
    name="agency_db",
    description=(
        "Development-agency database read through SQLAlchemy: sector associations, joint projects, "
        "cooperation survey (Likert 1-5), university and vocational programmes, R&D and design "
        "centres, specialised industrial zones, testing labs; flattened to long format."
    ),
    columns=(
        Column("table", "string", "source table"),
        Column("plate_code", "int", "province plate code"),
        Column("nace_class", "string", "NACE class the record concerns"),
        Column("measure", "string", "what is counted or measured"),
        Column("value", "float", "count, graduates, or Likert score"),
    ),
    file_patterns=("*.sqlite", "*.db"),
)

SOURCES: dict[str, SourceContract] = {
    c.name: c
    for c in (
        CHAMBER_REGISTRY,
        EXPORTER_EXPORTS,
        SGK_EMPLOYMENT,
        EXPORTS_BY_SECTOR,
        CAPACITY_REGISTER,
        SECTOR_TURNOVER,
        AGENCY_DB,
        CONSULTATION,
    )
}
