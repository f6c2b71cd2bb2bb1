"""Topics, code lists and indicators of the demo data set (bilingual)."""

TOPICS = [
    # code, name_id, name_en, description_id, description_en
    (
        "kepesertaan",
        "Kepesertaan",
        "Membership",
        "Peserta terdaftar dan aktif menurut segmen, program dan provinsi.",
        "Registered and active participants by segment, program and province.",
    ),
    (
        "dana",
        "Dana kelolaan dan investasi",
        "Funds and investment",
        "Dana kelolaan (dana jaminan sosial dan badan) serta hasil investasinya.",
        "Funds under management (social security funds and the agency's own) and their yield.",
    ),
    (
        "manfaat",
        "Manfaat dan klaim",
        "Benefits and claims",
        "Manfaat yang dibayarkan, penerima, kasus klaim dan beasiswa.",
        "Benefits paid, beneficiaries, claim cases and scholarships.",
    ),
    (
        "layanan",
        "Layanan",
        "Services",
        "Waktu dan saluran layanan klaim.",
        "Claim service times and channels.",
    ),
]

CODELISTS = [
    # id, name_id, name_en, order
    ("region", "Wilayah", "Region", 1),
    ("segment", "Segmen kepesertaan", "Membership segment", 2),
    ("program", "Program", "Programme", 3),
]

SEGMENTS = [
    ("_T", "Semua segmen", "All segments", True),
    ("PU", "Penerima Upah", "Wage earners", False),
    ("BPU", "Bukan Penerima Upah", "Informal and self-employed workers", False),
    ("JAKON", "Jasa Konstruksi", "Construction projects", False),
    ("PMI", "Pekerja Migran Indonesia", "Indonesian migrant workers", False),
]

PROGRAMS = [
    ("_T", "Semua program", "All programmes", True),
    ("JKK", "Jaminan Kecelakaan Kerja", "Work-accident insurance", False),
    ("JKM", "Jaminan Kematian", "Death benefit", False),
    ("JHT", "Jaminan Hari Tua", "Old-age savings", False),
    ("JP", "Jaminan Pensiun", "Pension", False),
    ("JKP", "Jaminan Kehilangan Pekerjaan", "Job-loss benefit", False),
]

# code, topic, unit, measure, frequencies, decimals, negative_allowed,
# name_id, name_en, description_id, description_en
INDICATORS = [
    (
        "ACTIVE_PARTICIPANTS",
        "kepesertaan",
        "persons",
        "stock",
        "AM",
        0,
        False,
        "Peserta aktif",
        "Active participants",
        "Pekerja yang terdaftar dan iurannya berjalan pada akhir periode.",
        "Workers enrolled whose contributions are current at the end of the period.",
    ),
    (
        "REGISTERED_PARTICIPANTS",
        "kepesertaan",
        "persons",
        "stock",
        "A",
        0,
        False,
        "Peserta terdaftar",
        "Registered participants",
        "Seluruh pekerja yang pernah terdaftar, aktif maupun tidak aktif.",
        "All workers ever enrolled, active or not.",
    ),
    (
        "NEW_PARTICIPANTS_NET",
        "kepesertaan",
        "persons",
        "flow",
        "A",
        0,
        True,
        "Pertambahan peserta (neto)",
        "Net increase in participants",
        "Kenaikan jumlah peserta dalam periode.",
        "Increase in the number of members over the period.",
    ),
    (
        "COVERAGE_ELIGIBLE",
        "kepesertaan",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Cakupan pekerja yang layak",
        "Coverage of eligible workers",
        "Peserta aktif sebagai persentase pekerja yang layak "
        "(pekerja dikurangi ASN, TNI dan Polri).",
        "Active participants as a percentage of eligible workers (employed minus civil servants, "
        "military and police).",
    ),
    (
        "ELIGIBLE_WORKERS",
        "kepesertaan",
        "persons",
        "stock",
        "A",
        0,
        False,
        "Pekerja yang layak",
        "Eligible workers",
        "Penduduk bekerja dikurangi ASN, TNI dan Polri yang dilindungi skema lain.",
        "Employed population minus civil servants, military and police, covered by other schemes.",
    ),
    (
        "EMPLOYED_POPULATION",
        "kepesertaan",
        "persons",
        "stock",
        "M",
        0,
        False,
        "Penduduk bekerja",
        "Employed population",
        "Penduduk bekerja menurut Sakernas BPS (putaran Februari dan Agustus).",
        "Employed population from the BPS labour force survey (February and August rounds).",
    ),
    (
        "FUNDS_UNDER_MANAGEMENT",
        "dana",
        "rupiah",
        "stock",
        "AM",
        0,
        False,
        "Dana kelolaan",
        "Funds under management",
        "Total dana kelolaan pada akhir periode.",
        "Total funds under management at the end of the period.",
    ),
    (
        "FUNDS_UNDER_MANAGEMENT_YOY",
        "dana",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Pertumbuhan dana kelolaan (yoy)",
        "Funds under management, year-on-year growth",
        "Pertumbuhan tahunan dana kelolaan sebagaimana dinyatakan dalam rilis.",
        "Year-on-year growth of funds under management as stated in the release.",
    ),
    (
        "INVESTMENT_YIELD",
        "dana",
        "percent",
        "rate",
        "A",
        2,
        False,
        "Imbal hasil investasi",
        "Investment yield",
        "Imbal hasil investasi dana jaminan sosial per program.",
        "Investment yield of each programme's social security fund.",
    ),
    (
        "BENEFITS_PAID",
        "manfaat",
        "rupiah",
        "flow",
        "A",
        0,
        False,
        "Manfaat yang dibayarkan",
        "Benefits paid",
        "Nilai manfaat (klaim) yang dibayarkan dalam periode.",
        "Benefits (claims) paid over the period.",
    ),
    (
        "BENEFICIARIES",
        "manfaat",
        "persons",
        "flow",
        "A",
        0,
        False,
        "Penerima manfaat",
        "Beneficiaries",
        "Pekerja dan ahli waris yang menerima manfaat dalam periode.",
        "Workers and heirs paid a benefit over the period.",
    ),
    (
        "CLAIM_CASES",
        "manfaat",
        "cases",
        "flow",
        "A",
        0,
        False,
        "Kasus klaim",
        "Claim cases",
        "Jumlah kasus klaim yang dibayarkan.",
        "Number of claim cases paid.",
    ),
    (
        "SCHOLARSHIP_PAID",
        "manfaat",
        "rupiah",
        "flow",
        "A",
        0,
        False,
        "Beasiswa yang dibayarkan",
        "Scholarships paid",
        "Beasiswa pendidikan anak peserta, dari TK sampai perguruan tinggi.",
        "Education scholarships for members' children, kindergarten to university.",
    ),
    (
        "SCHOLARSHIP_RECIPIENTS",
        "manfaat",
        "children",
        "flow",
        "A",
        0,
        False,
        "Penerima beasiswa",
        "Scholarship recipients",
        "Anak peserta yang menerima beasiswa.",
        "Members' children receiving scholarships.",
    ),
    (
        "CLAIM_PROCESSING_TIME",
        "layanan",
        "minutes",
        "rate",
        "A",
        0,
        False,
        "Waktu proses klaim",
        "Claim processing time",
        "Waktu penyelesaian klaim, dalam menit.",
        "Time to settle a claim, in minutes.",
    ),
    (
        "BRANCH_CLAIMS_REDUCTION",
        "layanan",
        "percent",
        "rate",
        "A",
        0,
        False,
        "Klaim yang dialihkan dari kantor cabang",
        "Claims moved away from branch offices",
        "Bagian proses klaim yang dialihkan dari kantor cabang ke layanan digital.",
        "Share of claim processing moved from branch offices to digital services.",
    ),
]

SOURCE_NOTE = (
    "Compiled from press reports for the demo data set; publication dates of the demo "
    "releases are illustrative."
)
SOURCE_NOTE_ID = "Dihimpun dari pemberitaan untuk data demo; tanggal rilis ilustratif."
# Stored in English, the API's language-neutral form; pages show it in their language
# (TEXT_TRANSLATIONS). Demo databases loaded before stored it in Indonesian: that text
# stays on their published rows and is translated too.
ILLUSTRATIVE_SOURCE = "Illustrative: generated from annual figures, not official data"
ILLUSTRATIVE_SOURCE_ID = "Ilustratif: dibangkitkan dari angka tahunan, bukan data resmi"
PRESS_SOURCE = "Press reports compiled for the demo"

# Every note and source the demo stores in one language, with its Indonesian words
# (stats.models.TextTranslation; the English is the stored text itself). Names of
# newspapers and agencies are the same in both languages and are not listed.
TEXT_TRANSLATIONS = {
    ILLUSTRATIVE_SOURCE: ILLUSTRATIVE_SOURCE_ID,
    PRESS_SOURCE: "Pemberitaan pers yang dihimpun untuk data demo",
    "ANTARA 2023 (implied)": "ANTARA 2023 (tersirat)",
    "illustrative: national figure split by workforce weights": (
        "ilustratif: angka nasional dibagi menurut bobot angkatan kerja"
    ),
    "illustrative: interpolated between reported figures, not an official value": (
        "ilustratif: diinterpolasi di antara angka yang dilaporkan, bukan nilai resmi"
    ),
    "illustrative: not a reported figure": "ilustratif: bukan angka yang dilaporkan",
    "illustrative correction of a keying error": "koreksi ilustratif atas salah ketik",
    "year end": "akhir tahun",
    "full year": "setahun penuh",
    "benefits paid so far in the year (year to date)": (
        "manfaat yang dibayarkan sejak awal tahun (tahun berjalan)"
    ),
    "BPS Sakernas February round": "Sakernas BPS putaran Februari",
    "claim processing took five days before digitalisation": (
        "proses klaim memakan lima hari sebelum digitalisasi"
    ),
    "dana kelolaan; a mid-year level, not year end": (
        "dana kelolaan; posisi tengah tahun, bukan akhir tahun"
    ),
    "total members; stated as 40 percent of eligible workers": (
        "total peserta; disebut 40 persen dari pekerja yang layak"
    ),
    "audited; replaces the unaudited Rp553.5 trillion": (
        "diaudit; menggantikan Rp553,5 triliun yang belum diaudit"
    ),
    "reported for February 2023; low confidence (secondary report)": (
        "dilaporkan untuk Februari 2023; keyakinan rendah (laporan sekunder)"
    ),
    "low confidence (secondary report)": "keyakinan rendah (laporan sekunder)",
    "members as a share of eligible workers (implies about 100 million eligible)": (
        "peserta sebagai bagian dari pekerja yang layak (tersirat sekitar 100 juta pekerja layak)"
    ),
    "full year; the 40 trillion of the 2023 release is year to date": (
        "setahun penuh; angka 40 triliun dalam rilis 2023 adalah tahun berjalan"
    ),
    "under 15 minutes through the Jamsostek Mobile app (upper bound)": (
        "kurang dari 15 menit melalui aplikasi Jamsostek Mobile (batas atas)"
    ),
    "membership increase in the year before; the highest in the agency's history": (
        "kenaikan kepesertaan pada tahun sebelumnya; tertinggi dalam sejarah lembaga"
    ),
    "education scholarships for members' children, kindergarten to university (year to date)": (
        "beasiswa pendidikan bagi anak peserta, dari TK hingga perguruan tinggi (tahun berjalan)"
    ),
    "headline figure; low confidence (secondary report)": (
        "angka utama; keyakinan rendah (laporan sekunder)"
    ),
    "informal-sector members; the release calls it a threefold rise in three years": (
        "peserta sektor informal; rilis menyebutnya naik tiga kali lipat dalam tiga tahun"
    ),
    "share of claim processing moved away from branch offices by digital services": (
        "bagian proses klaim yang dialihkan dari kantor cabang ke layanan digital"
    ),
    "implied by the release: 40 million members stated as 40 percent": (
        "tersirat dari rilis: 40 juta peserta disebut 40 persen"
    ),
    "unaudited; later revised by the audited figure": (
        "belum diaudit; kemudian direvisi dengan angka yang diaudit"
    ),
    "children receiving scholarships (year to date)": ("anak penerima beasiswa (tahun berjalan)"),
    "other reports say 54.97 million; low confidence (secondary report)": (
        "laporan lain menyebut 54,97 juta; keyakinan rendah (laporan sekunder)"
    ),
    "informal-sector members three years before the 2023 release": (
        "peserta sektor informal tiga tahun sebelum rilis 2023"
    ),
    "year end (the 686 trillion of the 2023 release is a mid-year level)": (
        "akhir tahun (angka 686 triliun dalam rilis 2023 adalah posisi tengah tahun)"
    ),
    "employed minus civil servants, military and police; formal 40.7 million, "
    "informal 61.08 million": (
        "penduduk bekerja dikurangi ASN, TNI dan Polri; formal 40,7 juta, informal 61,08 juta"
    ),
    "year-on-year growth of funds under management as stated": (
        "pertumbuhan dana kelolaan dari tahun ke tahun seperti yang disebutkan"
    ),
    "workers and heirs paid so far in the year (year to date)": (
        "pekerja dan ahli waris yang dibayar sejak awal tahun (tahun berjalan)"
    ),
    "as of 8 December; low confidence (secondary report)": (
        "per 8 Desember; keyakinan rendah (laporan sekunder)"
    ),
    "BPJS Ketenagakerjaan (press reports)": "BPJS Ketenagakerjaan (pemberitaan pers)",
}
# The Indonesian words of the demo database's earlier stored form: kept as they are.
LEGACY_TEXTS = {ILLUSTRATIVE_SOURCE_ID: (ILLUSTRATIVE_SOURCE_ID, ILLUSTRATIVE_SOURCE)}

# Rough relative size of each province's wage-earning workforce, for the illustrative
# provincial split only (population in millions, weighted up where formal jobs cluster).
PROVINCE_WEIGHTS = {
    "11": 5.3,
    "12": 14.8,
    "13": 5.5,
    "14": 7.7,
    "15": 3.5,
    "16": 8.5,
    "17": 2.0,
    "18": 9.0,
    "19": 1.6,
    "21": 3.2,
    "31": 31.8,
    "32": 53.1,
    "33": 36.5,
    "34": 4.1,
    "35": 42.7,
    "36": 15.5,
    "51": 4.7,
    "52": 4.8,
    "53": 4.2,
    "61": 5.0,
    "62": 2.8,
    "63": 4.3,
    "64": 5.7,
    "65": 0.8,
    "71": 2.6,
    "72": 2.8,
    "73": 9.5,
    "74": 2.5,
    "75": 1.1,
    "76": 1.2,
    "81": 1.6,
    "82": 1.3,
    "91": 0.6,
    "92": 0.6,
    "94": 1.0,
    "95": 0.5,
    "96": 1.2,
    "97": 1.1,
}

# Derived indicators: the same tuple as INDICATORS, then their definitions.
DERIVED_INDICATORS = [
    (
        "BPU_PARTICIPANTS_MULTIPLE_3Y",
        "kepesertaan",
        "ratio",
        "rate",
        "A",
        2,
        False,
        "Kelipatan peserta BPU dalam 3 tahun",
        "Informal-sector (BPU) membership, multiple over 3 years",
        "Peserta aktif BPU dibagi peserta aktif BPU tiga tahun sebelumnya.",
        "Active BPU participants divided by their number three years earlier.",
    ),
    (
        "BPU_PARTICIPANTS_CAGR_3Y",
        "kepesertaan",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Pertumbuhan tahunan majemuk peserta BPU (3 tahun)",
        "Informal-sector (BPU) membership, compound annual growth over 3 years",
        "Laju pertumbuhan tahunan rata-rata (majemuk) peserta aktif BPU selama tiga tahun.",
        "Average (compound) annual growth rate of active BPU participants over three years.",
    ),
    (
        "ACTIVE_PARTICIPANTS_YOY",
        "kepesertaan",
        "percent",
        "rate",
        "AM",
        1,
        False,
        "Pertumbuhan peserta aktif (yoy)",
        "Active participants, year-on-year growth",
        "Perubahan persentase peserta aktif dibanding periode yang sama tahun sebelumnya.",
        "Percent change of active participants on the same period a year earlier.",
    ),
    (
        "FUNDS_UNDER_MANAGEMENT_GROWTH",
        "dana",
        "percent",
        "rate",
        "AM",
        1,
        False,
        "Pertumbuhan dana kelolaan (yoy, dihitung)",
        "Funds under management, year-on-year growth (computed)",
        "Perubahan persentase dana kelolaan dibanding periode yang sama tahun sebelumnya, "
        "dihitung dari nilai dana kelolaan.",
        "Percent change of funds under management on the same period a year earlier, "
        "computed from the levels.",
    ),
    (
        "ACTIVE_COVERAGE_ELIGIBLE",
        "kepesertaan",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Cakupan peserta aktif terhadap pekerja layak (dihitung)",
        "Coverage of eligible workers (computed)",
        "Peserta aktif dibagi pekerja yang layak, dikali 100.",
        "Active participants divided by eligible workers, times 100.",
    ),
    (
        "ACTIVE_PARTICIPANTS_SEGMENT_SHARE",
        "kepesertaan",
        "percent",
        "rate",
        "AM",
        1,
        False,
        "Porsi segmen dalam peserta aktif",
        "Share of each segment in active participants",
        "Peserta aktif suatu segmen sebagai persentase seluruh peserta aktif di wilayah yang sama.",
        "Active participants of a segment as a percentage of all active participants "
        "in the region.",
    ),
    (
        "BENEFITS_PER_BENEFICIARY",
        "manfaat",
        "rupiah_per_person",
        "rate",
        "A",
        0,
        False,
        "Manfaat per penerima",
        "Benefits per beneficiary",
        "Manfaat yang dibayarkan dibagi jumlah penerima.",
        "Benefits paid divided by beneficiaries.",
    ),
    (
        "SCHOLARSHIP_PER_CHILD",
        "manfaat",
        "rupiah_per_person",
        "rate",
        "A",
        0,
        False,
        "Beasiswa per anak",
        "Scholarship per child",
        "Beasiswa yang dibayarkan dibagi jumlah anak penerima.",
        "Scholarships paid divided by the children receiving them.",
    ),
    (
        "ACTIVE_PARTICIPANTS_TARGET_PROGRESS",
        "kepesertaan",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Capaian target peserta aktif 2026",
        "Active participants, progress to the 2026 target",
        "Peserta aktif sebagai persentase target Peta Jalan 2026 (70 juta).",
        "Active participants as a percentage of the 2026 roadmap target (70 million).",
    ),
    (
        "ACTIVE_PARTICIPANTS_REQUIRED_GROWTH",
        "kepesertaan",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Pertumbuhan tahunan yang diperlukan menuju target peserta 2026",
        "Annual growth of active participants required to reach the 2026 target",
        "Laju tahunan yang membawa peserta aktif ke target 2026.",
        "The annual rate that takes active participants to the 2026 target.",
    ),
    (
        "FUNDS_TARGET_PROGRESS",
        "dana",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Capaian target dana kelolaan 2026",
        "Funds under management, progress to the 2026 target",
        "Dana kelolaan sebagai persentase target Peta Jalan 2026 (Rp1.001 triliun).",
        "Funds under management as a percentage of the 2026 roadmap target (Rp1,001 trillion).",
    ),
    (
        "FUNDS_REQUIRED_GROWTH",
        "dana",
        "percent",
        "rate",
        "A",
        1,
        False,
        "Pertumbuhan tahunan yang diperlukan menuju target dana 2026",
        "Annual growth of funds required to reach the 2026 target",
        "Laju tahunan yang membawa dana kelolaan ke target 2026.",
        "The annual rate that takes funds under management to the 2026 target.",
    ),
]

NATIONAL_TOTAL = {"region": "ID", "segment": "_T", "program": "_T"}

# indicator, kind, parameters, inputs [(role, indicator, codes)]
DERIVED: list[tuple[str, str, dict[str, int], list[tuple[str, str, dict[str, str]]]]] = [
    (
        "BPU_PARTICIPANTS_MULTIPLE_3Y",
        "multiple",
        {"years": 3},
        [("x", "ACTIVE_PARTICIPANTS", {"segment": "BPU"})],
    ),
    (
        "BPU_PARTICIPANTS_CAGR_3Y",
        "cagr",
        {"years": 3},
        [("x", "ACTIVE_PARTICIPANTS", {"segment": "BPU"})],
    ),
    (
        "ACTIVE_PARTICIPANTS_YOY",
        "percent_change",
        {"periods": 0, "years": 1},
        [("x", "ACTIVE_PARTICIPANTS", {})],
    ),
    (
        "FUNDS_UNDER_MANAGEMENT_GROWTH",
        "percent_change",
        {"periods": 0, "years": 1},
        [("x", "FUNDS_UNDER_MANAGEMENT", {})],
    ),
    (
        "ACTIVE_COVERAGE_ELIGIBLE",
        "ratio",
        {"scale": 100},
        [("a", "ACTIVE_PARTICIPANTS", NATIONAL_TOTAL), ("b", "ELIGIBLE_WORKERS", {})],
    ),
    (
        "ACTIVE_PARTICIPANTS_SEGMENT_SHARE",
        "share",
        {},
        [
            ("a", "ACTIVE_PARTICIPANTS", {"segment": "*"}),
            ("b", "ACTIVE_PARTICIPANTS", {"segment": "_T"}),
        ],
    ),
    (
        "BENEFITS_PER_BENEFICIARY",
        "per_unit",
        {},
        [("a", "BENEFITS_PAID", {"program": "_T"}), ("b", "BENEFICIARIES", {})],
    ),
    (
        "SCHOLARSHIP_PER_CHILD",
        "per_unit",
        {},
        [("a", "SCHOLARSHIP_PAID", {}), ("b", "SCHOLARSHIP_RECIPIENTS", {})],
    ),
    (
        "ACTIVE_PARTICIPANTS_TARGET_PROGRESS",
        "progress_to_target",
        {},
        [("x", "ACTIVE_PARTICIPANTS", NATIONAL_TOTAL)],
    ),
    (
        "ACTIVE_PARTICIPANTS_REQUIRED_GROWTH",
        "required_growth",
        {},
        [("x", "ACTIVE_PARTICIPANTS", NATIONAL_TOTAL)],
    ),
    (
        "FUNDS_TARGET_PROGRESS",
        "progress_to_target",
        {},
        [("x", "FUNDS_UNDER_MANAGEMENT", NATIONAL_TOTAL)],
    ),
    (
        "FUNDS_REQUIRED_GROWTH",
        "required_growth",
        {},
        [("x", "FUNDS_UNDER_MANAGEMENT", NATIONAL_TOTAL)],
    ),
]

# Look-alikes: (indicator, the one readers may take for it, why they differ in Indonesian,
# in English). Their pages show both values side by side with this sentence.
COMPARISONS = [
    (
        "FUNDS_UNDER_MANAGEMENT_GROWTH",
        "FUNDS_UNDER_MANAGEMENT_YOY",
        "Pertumbuhan yang dilaporkan BPJS Ketenagakerjaan dalam rilis 2023 mengacu pada dana "
        "kelolaan pertengahan tahun; yang dihitung di sini membandingkan dana kelolaan akhir "
        "tahun dengan akhir tahun sebelumnya.",
        "The growth BPJS Ketenagakerjaan reported in its 2023 release refers to the mid-year "
        "level of funds; the one computed here compares the year-end level with the year-end "
        "level a year earlier.",
    ),
    (
        "ACTIVE_COVERAGE_ELIGIBLE",
        "COVERAGE_ELIGIBLE",
        "Cakupan yang dilaporkan dalam rilis 2023 dinyatakan dari jumlah peserta pertengahan "
        "tahun dan dibulatkan; yang dihitung di sini membagi peserta aktif akhir tahun dengan "
        "pekerja yang layak (pekerja dikurangi ASN, TNI dan Polri).",
        "The coverage stated in the 2023 release was given from the mid-year number of members "
        "and rounded; the one computed here divides year-end active participants by eligible "
        "workers (employed minus civil servants, military and police).",
    ),
]
