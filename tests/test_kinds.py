"""What a question asks for, and what a sentence could answer: the first question word decides,
and a date is any year of the last millennium or two, a century, an era. A speculation ("pourraient
signer") is settled by a statement of the same verb and what follows it."""

from __future__ import annotations

import pytest

from retrieval.answers.kinds import (
    Joined,
    asks_ahead,
    joined_question,
    people_named,
    question_kind,
    reports_others_on,
    sentence_cues,
    speculation,
    states,
)


@pytest.mark.parametrize(
    ("question", "joined"),
    [
        # A question word joined at the end or the start asks for a second kind of answer, and names nothing.
        ("Who signed the treaty and when?", Joined("Who signed the treaty?", "date")),
        ("Qui a signé le traité, et quand ?", Joined("Qui a signé le traité ?", "date")),
        ("When and where was the treaty signed?", Joined("When was the treaty signed?", "place")),
        (
            "Où et quand Poutine et Kim se sont-ils rencontrés ?",
            Joined("Où Poutine et Kim se sont-ils rencontrés ?", "date"),
        ),
        ("What did Putin give Kim and why?", Joined("What did Putin give Kim?", "reason")),
        ("Qui a signé le pacte et par qui", Joined("Qui a signé le pacte", "person")),
        ("What did Putin give Kim, and how?", Joined("What did Putin give Kim?", None)),
        # A follow-up of one question word, or a name and one, is a single question.
        ("and when?", Joined("and when?", None)),
        ("Et quand ?", Joined("Et quand ?", None)),
        ("Poutine et qui ?", Joined("Poutine et qui ?", None)),
        # A question word with its own verb, or inside the sentence, is no joined word.
        (
            "Who is Ramon Pacheco Pardo and where does he work?",
            Joined("Who is Ramon Pacheco Pardo and where does he work?", None),
        ),
        ("What did Putin say when he arrived?", Joined("What did Putin say when he arrived?", None)),
    ],
)
def test_a_question_word_joined_to_a_question_asks_for_a_second_kind(question: str, joined: Joined):
    assert joined_question(question) == joined


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        # A later question word inside the sentence does not change what is asked.
        ("Qui dirigeait l'équipe quand il l'a rejointe ?", "person"),
        ("What did Putin say when he arrived in Pyongyang?", "words"),
        ("Where should visitors avoid going when they seek nightlife?", "place"),
        ("Quand Poutine a-t-il rencontré celui qui dirige le pays ?", "date"),
        # "qu'est-ce qui", "ce qui" ask for a thing, not a person.
        ("Qu'est-ce qui peut mesurer la toxicité ?", None),
        ("Avec qui Poutine a-t-il parlé ?", "person"),
        # At the same word, the longer question word.
        ("Combien de temps ont duré les discussions ?", "duration"),
        ("Combien de missiles la Corée du Nord a-t-elle fournis ?", "number"),
        ("Depuis quand Moscou et Pyongyang sont-ils alliés ?", "date"),
        # Of several questions (a follow-up read with the one before it), the last is asked.
        ("Qui est Matthew Miller ? Qu'a-t-il dit sur les sanctions ?", "words"),
        ("Who signed it? And when?", "date"),
        # A plural asks for the same kind as the singular.
        ("Which ministers took part in the talks?", "person"),
        # ... with a word or two before the noun: not a verb's ("What did the leaders discuss?")
        ("Which Russian ministers went to Vostochny?", "person"),
        ("What North Korean officials met him?", "person"),
        ("What did the leaders discuss?", None),
        ("Quels ministres participaient aux discussions ?", "person"),
        ("Which countries back Russia?", "place"),
        ("Dans quelles villes Kim s'est-il rendu ?", "place"),
        # Someone's function is told by a title or a role; something's is not a person.
        ("What is his job?", "person"),
        ("Quel est son rôle ?", "person"),
        ("What is the role of the treaty?", None),
        ("Quelle est la fonction du cosmodrome ?", None),
    ],
)
def test_the_first_question_word_decides_the_kind(question: str, kind: str | None):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("¿Quién acompañó a Putin en su viaje a Pyongyang?", "person"),
        ("¿Cuánto duraron las conversaciones entre Putin y Kim?", "duration"),
        ("¿Cuántos contenedores de municiones envió Corea del Norte?", "number"),
        ("¿Adónde viajará Putin después de Pyongyang?", "place"),
        ("¿Qué dijo Kim sobre el pacto?", "words"),
        ("Wann hat der Sicherheitsrat Sanktionen verhängt?", "date"),
        ("Wie lange dauerten die Gespräche?", "duration"),
        ("Wie viele Container mit Munition hat Nordkorea geliefert?", "number"),
        ("Warum braucht Russland Nordkorea?", "reason"),
        ("Dove si sono incontrati Putin e Kim nel settembre 2023?", "place"),
        ("Perché la Russia ha bisogno della Corea del Nord?", "reason"),
        ("Quanto sono durati i colloqui?", "duration"),
        ("Quem acompanhou Putin na viagem?", "person"),
        ("O que disse Jens Stoltenberg sobre a visita?", "words"),
        ("Quando Putin visitou Pyongyang?", "date"),
        ("O que inclui o tratado?", None),
    ],
)
def test_a_question_in_another_language_asks_with_its_own_question_words(question: str, kind: str | None):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How did Kim travel to Russia?", "means"),
        ("How did he get there?", "means"),
        ("Par quel moyen ?", "means"),
        ("Comment Kim est-il venu en Russie ?", "means"),
        ("Wie ist Kim Jong-un nach Russland gereist?", "means"),
        # how something went, or was got, is no way of travelling
        ("How did the talks go?", None),
        ("How did he get the money?", None),
        ("Comment s'est passée la visite ?", None),
        ("How did Putin describe the pact?", "words"),
    ],
)
def test_how_someone_travelled_asks_for_the_means(question: str, kind: str | None):
    assert question_kind(question) == kind


@pytest.mark.parametrize(
    ("sentence", "means"),
    [
        ("Après l’arrivée du dirigeant nord-coréen en Russie à bord de son train blindé, Kim a visité", True),
        ("Il est arrivé par train à Vladivostok.", True),
        ("The leader travelled by train.", True),
        ("Elle rentre à cheval à la tombée de la nuit.", True),
        ("Un nouveau train de sanctions a été adopté.", False),
        ("Il a pris la parole devant la presse.", False),
    ],
)
def test_a_sentence_tells_the_means_by_a_vehicle_phrase(sentence: str, means: bool):
    assert ("means" in sentence_cues(sentence).kinds) is means


def test_another_language_s_question_words_are_read_only_in_it():
    # "dove" is Italian's "where" and an English verb; "quando" a word of English text about Italy
    assert question_kind("What did the dove symbolise at the summit?") is None
    assert question_kind("Where did the dove land?") == "place"


@pytest.mark.parametrize(
    "sentence",
    [
        "La taille devient monopole royal en 1439.",
        "C'est à partir du XVIe siècle que des ambassadeurs permanents apparaissent.",
        "The custom dates back to the 12th century.",
        "La céramique est adoptée vers -500.",
        "Le terme existe au moins depuis les années 1100.",
        # how long ago says when
        "Sa précédente et première visite en Corée du Nord remonte à près de 25 ans.",
        "Il est arrivé il y a deux ans.",
        "It happened two years ago.",
        # a time told from the day it is written
        "Le mois dernier, le ministre russe de la Défense a effectué un rare voyage à Pyongyang.",
        "Le sommet Poutine-Kim de l’année dernière a donné lieu à des spéculations.",
        "L'accord doit être signé cette année.",
        "He visited Pyongyang last month.",
    ],
)
def test_a_year_a_century_an_era_or_how_long_ago_is_a_date(sentence: str):
    assert "date" in sentence_cues(sentence).kinds


@pytest.mark.parametrize(
    "sentence",
    [
        "Il a fourni des dizaines de missiles et 11.000 conteneurs.",
        "Le contrat a été signé par les deux dirigeants.",  # "été", the participle
        "Les mois passent sans accord.",
        "This agreement matters.",
    ],
)
def test_a_count_a_participle_or_a_bare_month_is_no_date(sentence: str):
    assert "date" not in sentence_cues(sentence).kinds


@pytest.mark.parametrize(
    ("sentence", "count"),
    [
        ("Poutine s’est rendu le 18 juin à Pyongyang.", False),
        ("Quelques heures avant son arrivée prévue ce mardi (18.06) à Pyongyang.", False),
        ("En 2017, le Conseil a imposé une série de sanctions.", False),
        ("Par Adam Morrow 19 juin 2024 23:09", False),
        ("It was signed on June 19, 2024.", False),
        # a number beside the date still counts; a bare four-digit number may be a count
        ("Le 17 juin, il a évoqué plus de 11.000 conteneurs de munitions.", True),
        ("Il a fourni 1500 missiles en 2023.", True),
        ("Leur dernière rencontre remonte à 24 ans.", True),
        ("Le billet coûte 12.50 euros.", True),
    ],
)
def test_a_date_s_digits_count_nothing(sentence: str, count: bool):
    assert ("number" in sentence_cues(sentence).kinds) is count


@pytest.mark.parametrize(
    ("sentence", "duration"),
    [
        ("Le président russe doit effectuer une visite d'Etat de deux jours dans le pays.", True),
        ("Ils ont ensuite mené des discussions d'environ deux heures.", True),
        ("Quelques heures avant son arrivée prévue, Vladimir Poutine s'est félicité du soutien.", False),
        ("Il a quitté le pouvoir il y a 25 ans.", False),
        ("Two days later, the treaty was published.", False),
        # One of a unit is a duration; how long ago is none.
        ("La visite d’une journée de Poutine prévoyait une réception d’État.", True),
        ("Sa précédente visite en Corée du Nord remonte à près de 25 ans.", False),
        ("Il est arrivé il y a un an.", False),
    ],
)
def test_a_time_anchored_to_another_is_no_duration(sentence: str, duration: bool):
    assert ("duration" in sentence_cues(sentence).kinds) is duration


@pytest.mark.parametrize(
    ("sentence", "words"),
    [
        ("Il a dit « nous sommes prêts ».", True),
        # A quotation the sentence splitter cut in two: each half is someone's words.
        (
            "Selon le secrétaire général de l'Otan Jens Stoltenberg, cette visite \"montre à quel point le président"
            " Poutine et Moscou sont désormais dépendants des pays autoritaires du monde entier.",
            True,
        ),
        ("Leurs amis les plus proches et les plus grands soutiens sont la Corée du Nord, l'Iran et la Chine\".", True),
        ("« Nous continuerons à coopérer dans tous les domaines, y compris militaire.", True),
        # A mark that opens or closes no quotation is no one's words.
        ("Le sommet de l'année dernière a donné lieu à des spéculations sur la coopération.", False),
        ('Il y a 4" de neige.', False),
    ],
)
def test_someone_s_words_are_read_from_a_quotation_whole_or_cut(sentence: str, words: bool):
    assert ("words" in sentence_cues(sentence).kinds) is words


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        # Someone named by kin, when the question names everyone else: "Who was Kim Jong Il?"
        ("Vladimir Poutine avait rencontré le père de Kim Jong Un, Kim Jong Il.", "Who was Kim Jong Il?"),
        ("Kim Jong Un, fils de Kim Jong Il, dirige le pays.", "Qui est Kim Jong Un ?"),
        ("His brother and his sister met Kim Jong Un.", "Who met Kim Jong Un?"),
    ],
)
def test_someone_named_by_kin_is_a_person(sentence: str, question: str):
    assert "person" in sentence_cues(sentence, question).kinds


@pytest.mark.parametrize(
    ("sentence", "question", "person"),
    [
        # the one the question names, by any of their names or as the other language spells them, is
        # no answer to who was with them...
        (
            "Après avoir quitté Pyongyang, Vladimir Poutine et la délégation qui l’accompagne iront à Hanoï.",
            "Qui a accompagné Poutine à Pyongyang ?",
            False,
        ),
        ("Le 19 juin, Vladimir Poutine et la délégation iront à Hanoï.", "Who accompanied Putin?", False),
        ("Après la visite, Kim Jong-un et la délégation iront à Moscou.", "Who met Kim?", False),
        # ...someone else is
        ("Poutine est accompagné du ministre, Sergey Lavrov.", "Who accompanied Putin?", True),
        ("Kim Jong-un et Vladimir Poutine ont visité le cosmodrome.", "Who met Kim?", True),
    ],
)
def test_a_person_the_question_names_answers_no_who(sentence: str, question: str, person: bool):
    assert ("person" in sentence_cues(sentence, question).kinds) is person


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        # An event after which something was done gives the reason for it...
        (
            "En 2017, le Conseil de sécurité des Nations unies (CSNU) a imposé une série de sanctions à Pyongyang "
            "après le tir d’essai d’un missile balistique.",
            True,
        ),
        ("The UN imposed sanctions after the test of a missile.", True),
        # ...not one that opens the sentence (when), nor a verb after it.
        (
            "Après l’arrivée du dirigeant nord-coréen en Russie, Kim Jong-un et Vladimir Poutine ont visité le site.",
            False,
        ),
        ("Il est rentré après avoir quitté Pyongyang le 19 juin.", False),
        # ...nor a time after another ("neuf mois après que", "shortly after the"): when, not why.
        (
            "Ce voyage en Corée du Nord a lieu neuf mois après que Vladimir Poutine a accueilli Kim Jong Un dans "
            "l'Extrême-Orient russe.",
            False,
        ),
        ("Il est reparti peu après la signature du traité.", False),
        ("He left two days after the summit.", False),
        ("She resigned shortly after the vote.", False),
        # The occasion of what was done, or what it answers, is why it was done...
        (
            "Kim a fait cette promesse dans une lettre au président russe Vladimir Poutine mardi, à l’occasion "
            "de l’anniversaire de la libération de la Corée.",
            True,
        ),
        ("Pyongyang a tiré deux missiles en réponse aux manœuvres.", True),
        ("Un concert en l'honneur du président russe.", True),
        ("Kim wrote to Putin on the occasion of the anniversary.", True),
        ("Seoul fired warning shots in response to the crossing.", True),
        # ...not a chance to do something.
        ("Ce fut une occasion de parler de coopération.", False),
        ("The visit was an occasion to sign documents.", False),
    ],
)
def test_an_event_after_which_it_was_done_its_occasion_or_what_it_answers_is_its_reason(sentence: str, reason: bool):
    assert ("reason" in sentence_cues(sentence).kinds) is reason


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("And in exchange?", "exchange"),
        ("Et que reçoit-elle en échange ?", "exchange"),
        ("Qu'a-t-il reçu en retour ?", "exchange"),
        ("What did Russia give North Korea in return?", "exchange"),
        ("Who gave the car in exchange?", "person"),  # the first question word decides
    ],
)
def test_what_was_given_in_exchange_is_a_kind_of_answer(question: str, kind: str):
    assert question_kind(question) == kind


def test_a_sentence_telling_what_was_given_in_exchange_holds_that_kind():
    said = "Les allégations suggèrent que la Corée du Nord fournit des munitions, recevant en échange un soutien."
    assert "exchange" in sentence_cues(said, "And in exchange?").kinds
    assert "exchange" in sentence_cues("In return, Russia sent food aid.").kinds
    assert "exchange" not in sentence_cues("Les deux pays ont échangé des présents.").kinds


USHAKOV = (
    "Le conseiller présidentiel russe, Yury Ushakov, a récemment déclaré aux journalistes que Moscou et Pyongyang "
    "pourraient signer un « traité de partenariat stratégique global » pendant ou peu après la visite de Poutine."
)
HANOI = (
    "Après avoir quitté Pyongyang le 19 juin, Vladimir Poutine et la délégation qui l’accompagne devraient se rendre "
    "à Hanoï pour s’entretenir avec des responsables vietnamiens."
)


@pytest.mark.parametrize(
    ("speculating", "statement", "settled"),
    [
        # the same verb and a content word after it: the fact itself
        (USHAKOV, "« Le contrat de partenariat global signé ce jour inclut, entre autres, une aide réciproque »", True),
        ("The two countries could sign a partnership treaty.", "The treaty they signed sets up a partnership.", True),
        # the verb alone, with other words: another fact ("se rendre à Hanoï" is not "s'est rendu à Pyongyang")
        (HANOI, "Le président russe Vladimir Poutine s’est rendu le 18 juin à Pyongyang en visite d’État.", False),
        # a word after it alone ("entre" is a stop word, "entretenir" cut to "entret")
        (HANOI, "Kim a accepté de renforcer les liens entre Moscou et Pyongyang.", False),
        (USHAKOV, "Le traité de partenariat a été discuté pendant des heures.", False),
    ],
)
def test_a_statement_settles_a_speculation_with_its_verb_and_what_follows(
    speculating: str, statement: str, settled: bool
):
    said = speculation(speculating)
    assert said is not None
    assert states(statement, said) is settled


def test_a_sentence_without_a_modal_speculates_nothing():
    assert speculation("Moscou et Pyongyang ont signé un traité de partenariat stratégique global.") is None


def test_people_are_named_with_their_title_or_role():
    texts = [
        "Le président russe Vladimir Poutine s’est rendu à Pyongyang.",
        "Il a rencontré son homologue nord-coréen, Kim Jong-un.",
        "M. Miller a réitéré cette affirmation.",
        "Le président de la France est venu à Séoul.",  # a role of a place: France is no person
    ]
    assert people_named(texts) == {"vladimir", "poutine", "kim", "jong-un", "miller"}


@pytest.mark.parametrize(
    ("sentence", "question", "people", "place"),
    [
        ("Il est allé à Hanoï.", "Where did he go?", frozenset(), True),
        # Someone's name after "de" is no place, when the passages read name them with a title...
        ("C'est la première visite de Poutine dans la capitale.", "Where did they meet?", {"poutine"}, False),
        ("C'est la première visite de Poutine dans la capitale.", "Where did they meet?", frozenset(), True),
        # ...nor a place the question names, as typed or as the other language transcribes it...
        ("La visite de Poutine à Pyongyang a eu lieu.", "Where did Putin go after Pyongyang?", frozenset(), False),
        # ...nor "d'État", a capitalised common noun; "aux États-Unis" is one.
        ("Ce fut une visite d’État.", "Where?", frozenset(), False),
        ("Il est allé aux États-Unis.", "Where?", frozenset(), True),
    ],
)
def test_a_place_answers_where_unless_the_question_names_it_or_it_is_someone(
    sentence: str, question: str, people: frozenset[str], place: bool
):
    assert ("place" in sentence_cues(sentence, question, frozenset(people)).kinds) is place


@pytest.mark.parametrize(
    ("question", "ahead"),
    [
        ("Et où va-t-il ensuite ?", True),
        ("Where was Putin going next after leaving North Korea?", True),
        ("What will Kim see in Vladivostok?", True),
        ("Où Poutine est-il allé ?", False),
        ("Que prévoit le traité ?", False),
        ("What did the treaty include?", False),
    ],
)
def test_a_question_about_what_comes_next_is_told_apart(question: str, ahead: bool):
    assert asks_ahead(question) is ahead


@pytest.mark.parametrize(
    ("sentence", "asked", "hearsay"),
    [
        ("Washington a déclaré que Shoigu avait profité de son voyage pour demander des munitions.", "Shoigu", True),
        ("Choïgou a déclaré mardi que la coopération militaire « répond aux intérêts ».", "Shoigu", False),
        ("Un tel accord, a déclaré M. Ushakov, « tiendrait compte de ce qui s’est passé ».", "Ushakov", False),
        ("« C’est un exemple du désespoir de M. Poutine », a déclaré le porte-parole, John Kirby.", "Kirby", False),
        ("Kirby said that Shoigu had asked for ammunition.", "Shoigu", True),
        ("Shoigu told a conference in Moscow that the cooperation threatens no one.", "Shoigu", False),
        ("Le mois dernier, Sergueï Choïgou a effectué un rare voyage à Pyongyang.", "Shoigu", False),  # no words
        # a pronoun in an incise speaks of the name before it; it may be the one asked when none is named
        ("Poutine, a-t-il dit, est de plus en plus « désespéré ».", "Putin", True),
        ("« Pyongyang a toujours été notre fervent défenseur », a-t-il déclaré.", "Putin", False),
    ],
)
def test_someone_else_s_words_about_the_one_asked_are_told_from_theirs(sentence: str, asked: str, hearsay: bool):
    """ "What did Shoigu say?" (Choïgou, as French transcribes him): not what others said of him."""
    assert reports_others_on(sentence, [asked]) is hearsay
