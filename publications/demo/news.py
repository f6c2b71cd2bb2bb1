"""News releases of the demo, written as editors would: Markdown citing figures by reference.

A figure is cited as ``[[INDICATOR PERIOD codes]]``. A news release is a record: its
page shows each figure as it stood when the news release was published, and marks
those revised since (the 2023 release's mid-year and year-to-date figures were, by the
year-end ones of "Angka tahunan 2023") with the value now beside the paragraph.

The texts say what the 2023 ANTARA release said, and nothing it did not: year-to-date
flows are written as such and never joined to a full-year one, and a growth rate or a
multiple is cited beside the levels it was computed from. A translation names its
original (``translation_of``) and carries the same content.
"""

NEWS = {
    "antara-2023-ikn": [
        {
            "slug": "peletakan-batu-pertama-gedung-ikn",
            "language": "id",
            "title": "BPJAMSOSTEK letakkan batu pertama gedung di IKN; peserta informal naik "
            "tiga kali lipat",
            "lead": "Peserta Bukan Penerima Upah naik dari 2,5 juta pada 2020 menjadi 7,6 juta "
            "pada 2023, dan dana kelolaan mencapai Rp686 triliun.",
            "indicators": ["ACTIVE_PARTICIPANTS", "FUNDS_UNDER_MANAGEMENT", "BENEFITS_PAID"],
            "body": """\
BPJS Ketenagakerjaan (BPJAMSOSTEK) meletakkan batu pertama gedung kantornya di Ibu Kota
Nusantara (IKN), Kalimantan Timur: 6.000 m² di atas lahan 1,19 hektare, bertepatan
dengan usia badan yang ke-45 pada bulan Desember.

## Kepesertaan

Peserta aktif mencapai [[ACTIVE_PARTICIPANTS 2023]], atau
[[ACTIVE_COVERAGE_ELIGIBLE 2023]] dari pekerja yang memenuhi syarat menjadi peserta.
Peserta Bukan Penerima Upah (BPU) tercatat [[ACTIVE_PARTICIPANTS 2023 segment=BPU]],
naik dari [[ACTIVE_PARTICIPANTS 2020 segment=BPU]] pada 2020, atau
[[BPU_PARTICIPANTS_MULTIPLE_3Y 2023 segment=BPU]] jumlah tiga tahun sebelumnya.
Pada 2022 peserta bertambah [[NEW_PARTICIPANTS_NET 2022]], pertambahan tertinggi dalam
sejarah badan.

## Dana dan manfaat

Dana kelolaan mencapai [[FUNDS_UNDER_MANAGEMENT 2023]], tumbuh
[[FUNDS_UNDER_MANAGEMENT_YOY 2023]] dibanding setahun sebelumnya.

Sepanjang tahun berjalan, manfaat sebesar [[BENEFITS_PAID 2023]] telah dibayarkan kepada
[[BENEFICIARIES 2023]] pekerja dan ahli waris. Beasiswa pendidikan sebesar
[[SCHOLARSHIP_PAID 2023]] diberikan kepada [[SCHOLARSHIP_RECIPIENTS 2023]] anak peserta,
dari taman kanak-kanak hingga perguruan tinggi.

## Layanan

Dengan aplikasi Jamsostek Mobile (JMO), proses klaim yang dulu lima hari kini kurang
dari [[CLAIM_PROCESSING_TIME 2023]]; layanan digital mengambil alih
[[BRANCH_CLAIMS_REDUCTION 2023]] proses klaim dari kantor cabang.

## Target 2026

Peta Jalan Jaminan Sosial 2023-2026 menargetkan 70 juta peserta dan dana kelolaan
Rp1.001 triliun pada 2026.
""",
        },
        {
            "slug": "groundbreaking-of-the-ikn-building",
            "language": "en",
            "translation_of": "peletakan-batu-pertama-gedung-ikn",
            "title": "BPJAMSOSTEK breaks ground on its IKN building; informal-sector membership "
            "triples",
            "lead": "Members outside wage employment rose from 2.5 million in 2020 to 7.6 "
            "million in 2023, and funds under management reached Rp686 trillion.",
            "indicators": ["ACTIVE_PARTICIPANTS", "FUNDS_UNDER_MANAGEMENT", "BENEFITS_PAID"],
            "body": """\
BPJS Ketenagakerjaan (BPJAMSOSTEK) broke ground on its office building in the new
capital, Nusantara (IKN), East Kalimantan: 6,000 m² on 1.19 hectares, as the agency
turned 45 in December.

## Membership

Active participants reached [[ACTIVE_PARTICIPANTS 2023]], or
[[ACTIVE_COVERAGE_ELIGIBLE 2023]] of the workers eligible for membership.
Informal-sector (BPU, not wage-earning) members numbered
[[ACTIVE_PARTICIPANTS 2023 segment=BPU]], up from
[[ACTIVE_PARTICIPANTS 2020 segment=BPU]] in 2020, or
[[BPU_PARTICIPANTS_MULTIPLE_3Y 2023 segment=BPU]] the number three years earlier.
In 2022 membership grew by [[NEW_PARTICIPANTS_NET 2022]], the largest increase in the
agency's history.

## Funds and benefits

Funds under management reached [[FUNDS_UNDER_MANAGEMENT 2023]], up
[[FUNDS_UNDER_MANAGEMENT_YOY 2023]] on a year earlier.

So far this year, [[BENEFITS_PAID 2023]] in benefits has been paid to
[[BENEFICIARIES 2023]] workers and heirs. Education scholarships of
[[SCHOLARSHIP_PAID 2023]] went to [[SCHOLARSHIP_RECIPIENTS 2023]] members' children,
from kindergarten to university.

## Services

With the Jamsostek Mobile (JMO) app, claims that took five days now take under
[[CLAIM_PROCESSING_TIME 2023]]; digital services took over
[[BRANCH_CLAIMS_REDUCTION 2023]] of claim processing from branch offices.

## 2026 targets

The Social Security Roadmap 2023-2026 (Peta Jalan Jaminan Sosial) targets 70 million
members and funds under management of Rp1,001 trillion by 2026.
""",
        },
    ],
    "angka-tahunan-2024": [
        {
            "slug": "peserta-aktif-2024",
            "language": "id",
            "title": "Peserta aktif 2024 mencapai 45,2 juta",
            "lead": "Peserta aktif pada akhir 2024 mencapai 45,2 juta, dengan 29,3 juta "
            "penerima upah.",
            "indicators": ["ACTIVE_PARTICIPANTS"],
            "body": """\
Pada akhir 2024 peserta aktif BPJS Ketenagakerjaan tercatat [[ACTIVE_PARTICIPANTS 2024]],
tumbuh [[ACTIVE_PARTICIPANTS_YOY 2024]] dibanding akhir 2023. Penerima upah berjumlah
[[ACTIVE_PARTICIPANTS 2024 segment=PU]] dan bukan penerima upah
[[ACTIVE_PARTICIPANTS 2024 segment=BPU]].

Menuju target 70 juta peserta pada 2026, capaian telah
[[ACTIVE_PARTICIPANTS_TARGET_PROGRESS 2024]]; untuk mencapainya peserta perlu tumbuh
[[ACTIVE_PARTICIPANTS_REQUIRED_GROWTH 2024]] per tahun.
""",
        },
    ],
}
