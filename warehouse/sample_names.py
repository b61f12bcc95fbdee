"""Name lists for the synthetic sample season's players (made-up, plausible NBA-style names).

A few names carry what real names carry and ``player_lookup`` (warehouse.names.normalize)
must survive: accents (``Jović``), apostrophes (``De'Andre``), hyphens
(``Gilmore-Reyes``) and suffixes (``Jr.``, ``II``, ``III``, kept as letters in the lookup).
"""
from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Aaron", "Adrian", "Alec", "Alonzo", "Andre", "Anfernee", "Austin", "Bennett", "Brandon",
    "Brooks", "Bryce", "Caleb", "Cam", "Carter", "Cedric", "Chet", "Clarence", "Cole", "Collin",
    "Corey", "Dalen", "Damon", "Darius", "Davion", "De'Andre", "De'Aaron", "Deandre", "Derrick",
    "Desmond", "Devin", "Dillon", "Dominic", "Donovan", "Dorian", "Dwayne", "Elijah", "Emeka",
    "Evan", "Franz", "Gabe", "Garrison", "Grant", "Hakeem", "Isaiah", "Ivan", "Jabari", "Jaden",
    "Jalen", "Jamal", "Jaren", "Javon", "Jaylen", "Jericho", "Jonah", "Jordan", "Josh", "Julius",
    "Justin", "Kai", "Keegan", "Kelvin", "Kendrick", "Keon", "Khalil", "Kyrie", "Lamar", "Lonnie",
    "Luka", "Malik", "Marcus", "Marko", "Mason", "Matas", "Miles", "Mikal", "Moses", "Nate",
    "Nikola", "Obi", "Oscar", "Quentin", "RJ", "Rasheed", "Reggie", "Rudy", "Scottie", "Shaedon",
    "Tariq", "Terrence", "Theo", "Trey", "Tyrese", "Victor", "Walker", "Xavier", "Zach", "Zion",
)

LAST_NAMES: tuple[str, ...] = (
    "Abernathy", "Adebayo-Cole", "Alvarado", "Anderson", "Armstrong", "Bailey", "Banks",
    "Barrett", "Beasley", "Bell", "Bogdanović", "Booker", "Bridges", "Brooks", "Brunson",
    "Caldwell", "Carrington", "Castle", "Chambers", "Clarke", "Coleman", "Cunningham", "Dalton",
    "Daniels", "Davis", "Dawson", "DeRozan", "Diallo", "Dixon", "Dumas", "Edwards", "Ellison",
    "Fleming", "Fontaine", "Fox", "Garland", "Gibson", "Gilmore-Reyes", "Graham", "Green",
    "Griffin", "Hairston", "Harden", "Harper", "Hayes", "Henderson", "Holiday", "Holland",
    "Hunter", "Ivey", "Jackson", "Jenkins", "Johnson", "Jović", "Kessler", "Knight", "Kuminga",
    "Lawson", "Lively", "Lopez", "Lowry", "Mathurin", "Maxwell", "McBride", "McCollum",
    "Merrill", "Miller", "Mitchell", "Mobley", "Monroe", "Murray", "Nance", "Nesmith", "Nwora",
    "O'Neale", "Okafor", "Oliveira", "Oubre", "Payne", "Petrović", "Porter", "Powell", "Quinn",
    "Randle", "Reaves", "Reed", "Richardson", "Robinson", "Rollins", "Sabonis", "Sanders",
    "Sarr", "Sexton", "Sheppard", "Simmons", "Smart", "Stevens", "Strickland", "Suggs",
    "Thompson", "Toppin", "Tucker", "Turner", "Valančiūnas", "Vassell", "Wagner", "Walker",
    "Wallace", "Washington", "Watford", "Wembley", "Whitmore", "Wiggins", "Williams", "Young",
)

SUFFIXES: tuple[str, ...] = ("Jr.", "II", "III")
