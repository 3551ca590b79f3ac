"""The 81 provinces of Turkey as the run form offers them: plate code, Turkish name, ASCII name.

A constant, not a read of ``data/reference/tr_provinces.csv``: the provinces are part of the run
form's contract (the Prefect UI lists ``PROVINCE_NAMES`` as the choices) and ``schemas`` reads no
file. A test keeps it equal to the reference table; a run resolves names to plate codes with the
reference table of its configured data folder (``tasks.reference.Reference``).
"""

from __future__ import annotations

from schemas.names import fold_key

PROVINCES: tuple[tuple[int, str, str], ...] = (  # (plate_code, name_tr, name_eng), by plate code
    (1, "Adana", "Adana"),
    (2, "Adıyaman", "Adiyaman"),
    (3, "Afyonkarahisar", "Afyonkarahisar"),
    (4, "Ağrı", "Agri"),
    (5, "Amasya", "Amasya"),
    (6, "Ankara", "Ankara"),
    (7, "Antalya", "Antalya"),
    (8, "Artvin", "Artvin"),
    (9, "Aydın", "Aydin"),
    (10, "Balıkesir", "Balikesir"),
    (11, "Bilecik", "Bilecik"),
    (12, "Bingöl", "Bingol"),
    (13, "Bitlis", "Bitlis"),
    (14, "Bolu", "Bolu"),
    (15, "Burdur", "Burdur"),
    (16, "Bursa", "Bursa"),
    (17, "Çanakkale", "Canakkale"),
    (18, "Çankırı", "Cankiri"),
    (19, "Çorum", "Corum"),
    (20, "Denizli", "Denizli"),
    (21, "Diyarbakır", "Diyarbakir"),
    (22, "Edirne", "Edirne"),
    (23, "Elazığ", "Elazig"),
    (24, "Erzincan", "Erzincan"),
    (25, "Erzurum", "Erzurum"),
    (26, "Eskişehir", "Eskisehir"),
    (27, "Gaziantep", "Gaziantep"),
    (28, "Giresun", "Giresun"),
    (29, "Gümüşhane", "Gumushane"),
    (30, "Hakkari", "Hakkari"),
    (31, "Hatay", "Hatay"),
    (32, "Isparta", "Isparta"),
    (33, "Mersin", "Mersin"),
    (34, "İstanbul", "Istanbul"),
    (35, "İzmir", "Izmir"),
    (36, "Kars", "Kars"),
    (37, "Kastamonu", "Kastamonu"),
    (38, "Kayseri", "Kayseri"),
    (39, "Kırklareli", "Kirklareli"),
    (40, "Kırşehir", "Kirsehir"),
    (41, "Kocaeli", "Kocaeli"),
    (42, "Konya", "Konya"),
    (43, "Kütahya", "Kutahya"),
    (44, "Malatya", "Malatya"),
    (45, "Manisa", "Manisa"),
    (46, "Kahramanmaraş", "Kahramanmaras"),
    (47, "Mardin", "Mardin"),
    (48, "Muğla", "Mugla"),
    (49, "Muş", "Mus"),
    (50, "Nevşehir", "Nevsehir"),
    (51, "Niğde", "Nigde"),
    (52, "Ordu", "Ordu"),
    (53, "Rize", "Rize"),
    (54, "Sakarya", "Sakarya"),
    (55, "Samsun", "Samsun"),
    (56, "Siirt", "Siirt"),
    (57, "Sinop", "Sinop"),
    (58, "Sivas", "Sivas"),
    (59, "Tekirdağ", "Tekirdag"),
    (60, "Tokat", "Tokat"),
    (61, "Trabzon", "Trabzon"),
    (62, "Tunceli", "Tunceli"),
    (63, "Şanlıurfa", "Sanliurfa"),
    (64, "Uşak", "Usak"),
    (65, "Van", "Van"),
    (66, "Yozgat", "Yozgat"),
    (67, "Zonguldak", "Zonguldak"),
    (68, "Aksaray", "Aksaray"),
    (69, "Bayburt", "Bayburt"),
    (70, "Karaman", "Karaman"),
    (71, "Kırıkkale", "Kirikkale"),
    (72, "Batman", "Batman"),
    (73, "Şırnak", "Sirnak"),
    (74, "Bartın", "Bartin"),
    (75, "Ardahan", "Ardahan"),
    (76, "Iğdır", "Igdir"),
    (77, "Yalova", "Yalova"),
    (78, "Karabük", "Karabuk"),
    (79, "Kilis", "Kilis"),
    (80, "Osmaniye", "Osmaniye"),
    (81, "Düzce", "Duzce"),
)


def _province_keys() -> dict[str, str]:
    """Matching key (Turkish name, ASCII name, plate code as a number or as on a number plate,
    ``06``) -> the province's Turkish name."""
    return {
        fold_key(key): name_tr
        for plate_code, name_tr, name_eng in PROVINCES
        for key in (name_tr, name_eng, plate_code, f"{plate_code:02d}")
    }


PROVINCE_KEYS = _province_keys()
PROVINCE_NAMES = tuple(sorted((name_tr for _, name_tr, _ in PROVINCES), key=fold_key))  # the form's choices
