"""What the bot says, in English and French (the user's Telegram language picks)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from retrieval.corpus.analysis import GREETINGS, THANKS


def count(n: int, forms: str, lang: str = "en") -> str:
    """``n`` and the word that goes with it: ``count(1, "passage|passages")`` is ``1 passage``.

    English takes the singular for 1 only; French for 0 and 1 (« 0 article »).
    """
    singular, _, plural = forms.partition("|")
    one = n in (0, 1) if lang == "fr" else n == 1
    return f"{n} {singular if one else plural or singular}"


class _Plurals(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec and isinstance(value, int):
            return count(value, format_spec, self.lang)
        return super().format_field(value, format_spec)


class Template(str):
    """A message whose ``format`` also agrees nouns with numbers: ``{n:article|articles}``."""

    lang: str

    def __new__(cls, text: str, lang: str) -> Template:
        self = super().__new__(cls, text)
        self.lang = lang
        return self

    def format(self, *args: Any, **kwargs: Any) -> str:
        return _Plurals(self.lang).format(str(self), *args, **kwargs)


@dataclass(frozen=True)
class Messages:
    lang: str
    welcome: str
    not_found: str
    sources_button: str
    sources_heading: str
    sources_list_heading: str
    sources_gone: str
    no_articles: str
    no_index: str
    index_unusable: str
    index_unreachable: str
    too_long: str
    slow_down: str
    empty_question: str
    error: str
    admin_only: str
    reindex_started: str
    reindex_running: str
    reindex_done: str
    reindex_failed: str
    ask_usage: str
    new_conversation: str
    upload_added: str
    upload_refused: str
    upload_types: str
    upload_too_large: str
    upload_timeout: str
    upload_download_failed: str
    you_are_welcome: str
    cli_welcome: str  # the question loop's answer to "hello" or "what can you do?"
    link_not_read: str  # a link sent as a question (by someone who may not add articles)
    link_in_group: str  # an admin's link in a group
    not_text: str  # a photo, a voice message, a sticker… in a private chat
    remove_usage: str
    removed: str
    remove_unknown: str
    cli_link: str  # the question loop's answer to a link


EN = Messages(
    lang="en",
    welcome=Template(
        "Hello! I answer questions about {articles:news article|news articles} ({dates}), "
        "quoting the passages each answer comes from.\n\n"
        "Just send a question, in English or French, e.g. <i>What did the treaty include?</i>\n"
        "In a group, mention me, reply to me, or use /ask followed by your question.\n\n"
        'Follow-up questions ("and what did Kim say?") build on the previous one, "tell me more" quotes what '
        "I have not quoted yet; /new starts over.\n"
        "/sources lists the articles I know; /help shows this message.",
        "en",
    ),
    not_found="I could not find this in the articles. /sources lists what I know about.",
    sources_button="Sources",
    sources_heading="Quoted passages",
    sources_list_heading=Template("{n:article|articles} indexed", "en"),
    sources_gone="These sources are no longer available; please ask again.",
    no_articles="No articles are indexed yet.",
    no_index="The article index is not built yet; an admin can run /reindex.",
    index_unusable="The article index cannot be used right now (it must be rebuilt); an admin can run /reindex.",
    index_unreachable="The article index cannot be reached right now. Please try again in a moment.",
    too_long="That question is too long ({length} characters; the limit is {limit}). Please shorten it.",
    slow_down="You are asking faster than I can answer. Please wait a moment before the next question.",
    empty_question="Please send a question in words.",
    error="Sorry, something went wrong while answering. Please try again.",
    admin_only="Sorry, this command is for administrators only.",
    reindex_started="Re-indexing the articles… I keep answering from the current index meanwhile.",
    reindex_running="A re-index is already running.",
    reindex_done=Template(
        "Re-index done: {articles:article|articles}, {passages:passage|passages} in {seconds:.1f} s.{errors}", "en"
    ),
    reindex_failed="Re-index failed: {reason}",
    ask_usage="Usage: /ask followed by your question, e.g. /ask What did the treaty include?",
    new_conversation="New conversation: your next question starts fresh.",
    upload_added=Template(
        "Added “{title}” ({id}). Index now: {articles:article|articles}, {passages:passage|passages} "
        "(re-indexed in {seconds:.1f} s).{warnings}",
        "en",
    ),
    upload_refused="Not added: {reason}",
    upload_types="only .txt, .md and .html files can be added",
    upload_too_large="the file is too large (the limit is {limit:,} bytes)",
    upload_timeout="downloading it from Telegram took longer than {seconds:g} s; please send it again",
    upload_download_failed="it could not be downloaded from Telegram; please send it again",
    you_are_welcome="You’re welcome! Ask me anything else about the articles.",
    link_not_read="I do not open links: I answer questions about the articles I know. /sources lists them.",
    link_in_group="To add the article a link points to, send me the link in a private chat.",
    not_text="I only read text: please type your question.",
    remove_usage="Usage: /remove followed by an article id, e.g. /remove 004_34fdb793e7d525a8 "
    "(/sources shows the ids).",
    removed=Template(
        "Removed {id}. Index now: {articles:article|articles}, {passages:passage|passages} "
        "(re-indexed in {seconds:.1f} s).",
        "en",
    ),
    remove_unknown="No article has the id {id}; /sources lists them.",
    cli_link="That is a link: `ragbot add URL` adds the article it points to; ask me questions in words.",
    cli_welcome=Template(
        "Hello! I answer questions about {articles:news article|news articles} ({dates}), "
        "quoting the passages each answer comes from. Ask in English or French, e.g. "
        "“What did the treaty include?”; a follow-up (“and when?”) builds on the previous question, "
        "“tell me more” quotes what I have not quoted yet, :new starts over, :q leaves. `ragbot sources` lists "
        "the articles.",
        "en",
    ),
)

FR = Messages(
    lang="fr",
    welcome=Template(
        "Bonjour ! Je réponds aux questions sur {articles:article de presse|articles de presse} ({dates}), "
        "en citant les passages d’où vient chaque réponse.\n\n"
        "Envoyez simplement une question, en français ou en anglais, par exemple "
        "<i>Que prévoit le pacte ?</i>\n"
        "Dans un groupe, mentionnez-moi, répondez à l’un de mes messages ou utilisez /ask suivi de la question.\n\n"
        "Les questions de suite (« et qu’a dit Kim ? ») prolongent la précédente, « dis-m’en plus » cite ce que "
        "je n’ai pas encore cité ; /new repart de zéro.\n"
        "/sources liste les articles que je connais ; /help affiche ce message.",
        "fr",
    ),
    not_found="Je n’ai pas trouvé cela dans les articles. /sources liste ce que je connais.",
    sources_button="Sources",
    sources_heading="Passages cités",
    sources_list_heading=Template("{n:article indexé|articles indexés}", "fr"),
    sources_gone="Ces sources ne sont plus disponibles ; reposez la question.",
    no_articles="Aucun article n’est encore indexé.",
    no_index="L’index des articles n’est pas encore construit ; un administrateur peut lancer /reindex.",
    index_unusable="L’index des articles est inutilisable (il faut le reconstruire) ; un admin peut lancer /reindex.",
    index_unreachable="L’index des articles est injoignable pour le moment. Réessayez dans un instant.",
    too_long="Cette question est trop longue ({length} caractères ; la limite est {limit}). Merci de la raccourcir.",
    slow_down="Vous posez des questions plus vite que je ne peux répondre. Attendez un instant avant la suivante.",
    empty_question="Envoyez une question en toutes lettres.",
    error="Désolé, une erreur s’est produite pendant la réponse. Réessayez.",
    admin_only="Désolé, cette commande est réservée aux administrateurs.",
    reindex_started="Réindexation des articles… Je continue à répondre avec l’index actuel en attendant.",
    reindex_running="Une réindexation est déjà en cours.",
    reindex_done=Template(
        "Réindexation terminée : {articles:article|articles}, {passages:passage|passages} en {seconds:.1f} s.{errors}",
        "fr",
    ),
    reindex_failed="La réindexation a échoué : {reason}",
    ask_usage="Utilisation : /ask suivi de la question, par exemple /ask Que prévoit le pacte ?",
    new_conversation="Nouvelle conversation : la prochaine question repart de zéro.",
    upload_added=Template(
        "Ajouté : « {title} » ({id}). Index : {articles:article|articles}, {passages:passage|passages} "
        "(réindexé en {seconds:.1f} s).{warnings}",
        "fr",
    ),
    upload_refused="Non ajouté : {reason}",
    upload_types="seuls les fichiers .txt, .md et .html peuvent être ajoutés",
    upload_too_large="le fichier est trop volumineux (la limite est de {limit} octets)",
    upload_timeout="son téléchargement depuis Telegram a pris plus de {seconds:g} s ; renvoyez-le",
    upload_download_failed="il n’a pas pu être téléchargé depuis Telegram ; renvoyez-le",
    you_are_welcome="Avec plaisir ! Posez-moi une autre question sur les articles.",
    link_not_read="Je n’ouvre pas les liens : je réponds aux questions sur les articles que je connais. "
    "/sources les liste.",
    link_in_group="Pour ajouter l’article vers lequel pointe un lien, envoyez-moi le lien en privé.",
    not_text="Je ne lis que du texte : tapez votre question.",
    remove_usage="Utilisation : /remove suivi de l’identifiant d’un article, par exemple /remove 004_34fdb793e7d525a8 "
    "(/sources montre les identifiants).",
    removed=Template(
        "Retiré : {id}. Index : {articles:article|articles}, {passages:passage|passages} "
        "(réindexé en {seconds:.1f} s).",
        "fr",
    ),
    remove_unknown="Aucun article n’a l’identifiant {id} ; /sources les liste.",
    cli_link="C’est un lien : `ragbot add URL` ajoute l’article vers lequel il pointe ; posez-moi des questions "
    "en toutes lettres.",
    cli_welcome=Template(
        "Bonjour ! Je réponds aux questions sur {articles:article de presse|articles de presse} ({dates}), "
        "en citant les passages d’où vient chaque réponse. Posez-les en français ou en anglais, par exemple "
        "« Que prévoit le pacte ? » ; une question de suite (« et quand ? ») prolonge la précédente, "
        "« dis-m’en plus » cite ce que je n’ai pas encore cité, :new repart de zéro, :q quitte. "
        "`ragbot sources` liste les articles.",
        "fr",
    ),
)


# Greeting and thanking words (retrieval.corpus.analysis, which reads the language from them too),
# with what may go along: "good morning", "thank you very much", "merci mille fois".
_THANKING = frozenset().union(*THANKS.values()) | {"thx", "ty"}
_GREETINGS = frozenset().union(*GREETINGS.values()) | frozenset(
    "hiya good morning afternoon evening días tardes noches tag morgen abend dia tarde noite".split()
)
_THANKS = _THANKING | frozenset("you much a lot beaucoup bien mille fois muchas vielen schön tante muito".split())


# A message about the bot itself or what it knows ("What can you do?", "Quels articles as-tu ?",
# "Who are you?", "help"): it names the one it speaks to or the articles, and nothing else.
_ADDRESSEE = frozenset("you your yourself tu toi te tes ton ta vous vos votre".split())
_COLLECTION = frozenset(
    "articles article sources source documents news topics subjects sujets sujet thèmes help aide".split()
)
_ABOUT = (
    _ADDRESSEE
    | _COLLECTION
    | frozenset(
        "what which who how are is am do does can could have has know about the a an of on in tell me us all list"
        " show give there available cover covers contain talk answer questions work works use able"
        " quels quelles quel quelle qui que quoi qu es êtes est sont as avez connais connaissez sais savez faire"
        " fais faites peux pouvez de du des les la le l d parlent parle parles parlez traitent sur à propos liste"
        " montre montrez donne dis dites moi m y en disponibles couvre couvrent répondre réponds fonctionne"
        " fonctionnes sers sert ce c ça marche tous toutes".split()
    )
)


# A web address as people paste it: with its scheme, or starting "www.".
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>«»\"]+", re.IGNORECASE)


def links_in(text: str) -> list[str]:
    """The web addresses of a message that holds nothing else (["https://…"] for a pasted link, with
    or without punctuation around it), else [] (a question that quotes an address is a question)."""
    found = [part for link in _LINK.findall(text) for part in _JOINED.split(link)]
    if not found or re.search(r"\w", _LINK.sub(" ", text)):
        return []
    return [_unpunctuated(link) for link in found]


# Addresses written one after the other with a comma between: "https://a.com,https://b.com".
_JOINED = re.compile(r",(?=(?:https?://|www\.))", re.IGNORECASE)


def _unpunctuated(link: str) -> str:
    """``link`` without the punctuation that closes the sentence around it; a closing bracket only
    when it closes none the address opens (".../Kim_(homme_politique)" keeps its own)."""
    while link and (link[-1] in ".,;:!?'’" or (link[-1] == ")" and link.count(")") > link.count("("))):
        link = link[:-1]
    return link


# A message asking where the last answer comes from: "sources?", "What are your sources?", "Where does
# this come from?", « Quelles sont tes sources ? », « D'où ça vient ? » (the whole message); not what
# the articles may say of something's or someone's ("Where is it from?", « Quelles sont ses sources ? »).
_SOURCES = re.compile(
    r"^\W*(?:(?:and|et|ok|so|alors)\W+)?(?:"
    r"(?:the\s+|your\s+|tes\s+|vos\s+|les\s+|ta\s+|votre\s+)?sources?"
    r"|(?:what|which)(?:['’]s|\s+is|\s+are|\s+were)?\s+(?:the|your)\s+sources?"
    r"|(?:show|give)\s+(?:me\s+)?(?:the\s+|your\s+)?sources?|cite\s+(?:the\s+|your\s+)?sources?"
    r"|where\s+(?:does|did)\s+(?:this|that)\s+come\s+from|where(?:['’]s|\s+is)\s+(?:this|that)\s+from"
    r"|how\s+do\s+you\s+know(?:\s+(?:this|that))?"
    r"|quelles?\s+(?:est|sont)\s+(?:ta|tes|votre|vos|la|les)\s+sources?"
    r"|(?:montre|montrez|donne|donnez)(?:[-\s]moi)?\s+(?:les|tes|vos|la|ta|votre)\s+sources?"
    r"|d['’]où\s+(?:ça|cela|ceci)\s+vient(?:-il)?|d['’]où\s+vient\s+(?:cette\s+(?:information|réponse)|cela|ça)"
    r"|d['’]où\s+(?:tu\s+(?:sais|tiens)|vous\s+(?:savez|tenez))\s+(?:ça|cela)|comment\s+(?:le\s+)?(?:sais-tu|savez-vous)"
    r")\W*(?:please|svp|stp|s['’]il\s+(?:te|vous)\s+pla[iî]t)?\W*$",
    re.IGNORECASE,
)


def courtesy(text: str) -> str | None:
    """``"greeting"`` for a message that only greets ("hello", "Bonjour !"), ``"thanks"`` for one that
    only thanks ("thanks a lot", "merci beaucoup"), ``"about"`` for one that asks about the bot or
    what it knows ("What can you do?", "Quels articles as-tu ?"), ``"link"`` for one that is only a web
    address (see :func:`links_in`), ``"sources"`` for one that asks where the last answer comes from
    ("sources?", « D'où ça vient ? »), ``"wordless"`` for one with no word at all ("???", "🙂"), else
    None (a question, even one that opens with "Hi,", or asks what it knows of something: "What do
    you know about the treaty?")."""
    if links_in(text):
        return "link"
    if _SOURCES.match(text):
        return "sources"
    found = re.findall(r"\w+", text.casefold())
    if not found:
        return "wordless" if text.strip() else None  # "???", "🙂": nothing to search for
    if all(w in _GREETINGS for w in found):
        return "greeting"
    if all(w in _THANKS for w in found) and any(w in _THANKING for w in found):
        return "thanks"
    if all(w in _ABOUT or w in _GREETINGS for w in found) and any(w in _ADDRESSEE or w in _COLLECTION for w in found):
        return "about"
    return None


def messages_for(language_code: str | None) -> Messages:
    """French for French-speaking Telegram users, English otherwise."""
    return FR if (language_code or "").lower().startswith("fr") else EN


#: A refusal with its hint in the other languages a question may be asked in (the rest of what the bot
#: says is in English for them): the question is answered in its own language, or refused in it.
NOT_FOUND_HINTED = {
    "es": "No he encontrado esto en los artículos. /sources muestra lo que conozco.",
    "de": "Das habe ich in den Artikeln nicht gefunden. /sources zeigt, was ich kenne.",
    "it": "Non ho trovato questo negli articoli. /sources elenca ciò che conosco.",
    "pt": "Não encontrei isto nos artigos. /sources lista o que conheço.",
}
