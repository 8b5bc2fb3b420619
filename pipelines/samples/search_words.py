"""The words the search sample data is made of: topics of concepts, each said in four languages.

A concept is one meaning (``flight``) with its surface word in every language (``flight``,
``flug``, ``vol``, ``vuelo``): relevance follows the concept, the text shows the word, so a
change in the language mix changes the text while meaning stays the same. Every word is one
lowercase ASCII token (``gepaeck``, not ``Gepäck``), so a lower-casing, accent-stripping
tokenizer built from ``vocabulary()`` sees each of them unchanged.
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "fr", "es")

# topic -> concepts, each concept as (en, de, fr, es).
Concept = tuple[str, str, str, str]
TOPICS: dict[str, list[Concept]] = {
    "travel": [
        ("flight", "flug", "vol", "vuelo"),
        ("beach", "strand", "plage", "playa"),
        ("ticket", "fahrkarte", "billet", "billete"),
        ("luggage", "gepaeck", "bagage", "equipaje"),
        ("passport", "reisepass", "passeport", "pasaporte"),
        ("airport", "flughafen", "aeroport", "aeropuerto"),
        ("holiday", "urlaub", "vacances", "vacaciones"),
        ("island", "insel", "ile", "isla"),
    ],
    "cooking": [
        ("recipe", "rezept", "recette", "receta"),
        ("soup", "suppe", "soupe", "sopa"),
        ("bread", "brot", "pain", "pan"),
        ("oven", "ofen", "four", "horno"),
        ("chicken", "huhn", "poulet", "pollo"),
        ("cake", "kuchen", "gateau", "pastel"),
        ("sauce", "sosse", "coulis", "salsa"),
        ("vegetables", "gemuese", "legumes", "verduras"),
    ],
    "football": [
        ("match", "spiel", "rencontre", "partido"),
        ("goal", "tor", "but", "gol"),
        ("league", "liga", "ligue", "campeonato"),
        ("coach", "trainer", "entraineur", "entrenador"),
        ("stadium", "stadion", "stade", "estadio"),
        ("player", "spieler", "joueur", "jugador"),
        ("transfer", "wechsel", "transfert", "fichaje"),
        ("referee", "schiedsrichter", "arbitre", "arbitro"),
    ],
    "finance": [
        ("stock", "aktie", "action", "accion"),
        ("bank", "sparkasse", "banque", "banco"),
        ("loan", "kredit", "pret", "prestamo"),
        ("interest", "zinsen", "interet", "interes"),
        ("tax", "steuer", "impot", "impuesto"),
        ("pension", "rente", "retraite", "jubilacion"),
        ("inflation", "teuerung", "hausse", "inflacion"),
        ("savings", "ersparnisse", "epargne", "ahorro"),
    ],
    "health": [
        ("doctor", "arzt", "medecin", "medico"),
        ("fever", "fieber", "fievre", "fiebre"),
        ("sleep", "schlaf", "sommeil", "sueno"),
        ("diet", "ernaehrung", "regime", "dieta"),
        ("headache", "kopfschmerzen", "migraine", "jaqueca"),
        ("pharmacy", "apotheke", "pharmacie", "farmacia"),
        ("allergy", "allergie", "allergique", "alergia"),
        ("blood", "blut", "sang", "sangre"),
    ],
    "technology": [
        ("computer", "rechner", "ordinateur", "ordenador"),
        ("phone", "handy", "telephone", "movil"),
        ("software", "programm", "logiciel", "programa"),
        ("battery", "akku", "batterie", "bateria"),
        ("network", "netzwerk", "reseau", "red"),
        ("screen", "bildschirm", "ecran", "pantalla"),
        ("password", "passwort", "motdepasse", "contrasena"),
        ("printer", "drucker", "imprimante", "impresora"),
    ],
    "gardening": [
        ("garden", "garten", "potager", "jardin"),
        ("seeds", "samen", "graines", "semillas"),
        ("roses", "rosen", "rosiers", "rosas"),
        ("soil", "erde", "terreau", "tierra"),
        ("lawn", "rasen", "pelouse", "cesped"),
        ("pruning", "schnitt", "taille", "poda"),
        ("watering", "giessen", "arrosage", "riego"),
        ("greenhouse", "gewaechshaus", "serre", "invernadero"),
    ],
    "music": [
        ("guitar", "gitarre", "guitare", "guitarra"),
        ("concert", "konzert", "spectacle", "concierto"),
        ("song", "lied", "chanson", "cancion"),
        ("piano", "klavier", "clavier", "teclado"),
        ("band", "kapelle", "groupe", "banda"),
        ("lyrics", "liedtext", "paroles", "letra"),
        ("violin", "geige", "violon", "violinista"),
        ("singer", "saenger", "chanteur", "cantante"),
    ],
}

# Topics that appear only with the ``new_topics`` shift: never in the data before it.
SHIFT_TOPICS: dict[str, list[Concept]] = {
    "space": [
        ("rocket", "rakete", "fusee", "cohete"),
        ("planet", "planeten", "planete", "planeta"),
        ("moon", "mond", "lune", "luna"),
        ("astronaut", "raumfahrer", "astronaute", "astronauta"),
        ("telescope", "teleskop", "lunette", "telescopio"),
        ("orbit", "umlaufbahn", "orbite", "orbita"),
        ("galaxy", "galaxie", "galaxies", "galaxia"),
        ("satellite", "satellit", "satellites", "satelite"),
    ],
    "climate": [
        ("drought", "duerre", "secheresse", "sequia"),
        ("flood", "hochwasser", "inondation", "inundacion"),
        ("emissions", "emissionen", "rejets", "emisiones"),
        ("solar", "sonnenenergie", "solaire", "fotovoltaica"),
        ("storm", "sturm", "tempete", "tormenta"),
        ("glacier", "gletscher", "glaciers", "glaciar"),
        ("carbon", "kohlenstoff", "carbone", "carbono"),
        ("warming", "erwaermung", "rechauffement", "calentamiento"),
    ],
    "elections": [
        ("vote", "wahl", "scrutin", "voto"),
        ("candidate", "kandidat", "candidat", "candidato"),
        ("ballot", "stimmzettel", "bulletin", "papeleta"),
        ("parliament", "parlament", "parlement", "parlamento"),
        ("campaign", "wahlkampf", "campagne", "campana"),
        ("poll", "umfrage", "sondage", "encuesta"),
        ("debate", "debatte", "debat", "debates"),
        ("mayor", "buergermeister", "maire", "alcalde"),
    ],
}

# Words of no topic: what titles and snippets are padded with, per language.
FILLER: dict[str, list[str]] = {
    "en": ["guide", "best", "new", "how", "tips", "review", "news", "today", "easy", "cheap", "latest",
           "for", "the", "and", "with", "your"],
    "de": ["ratgeber", "beste", "neu", "wie", "tipps", "test", "nachrichten", "heute", "einfach",
           "guenstig", "aktuell", "fuer", "der", "und", "mit", "ihr"],
    "fr": ["conseils", "meilleur", "nouveau", "comment", "astuces", "avis", "actualites", "aujourdhui",
           "facile", "pascher", "dernier", "pour", "le", "et", "avec", "votre"],
    "es": ["guia", "mejor", "nuevo", "como", "trucos", "opinion", "noticias", "hoy", "facil", "barato",
           "ultimo", "para", "el", "y", "con", "tu"],
}  # fmt: skip


def vocabulary() -> list[str]:
    """Every word the search generator can emit, in any language and topic (shift topics too), sorted."""
    concepts = [
        concept for topics in (TOPICS, SHIFT_TOPICS) for group in topics.values() for concept in group
    ]
    words = {word for concept in concepts for word in concept}
    words.update(word for filler in FILLER.values() for word in filler)
    return sorted(words)
