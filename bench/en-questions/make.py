"""Builds bench/en-questions: English questions over the Indonesian idkmrc-id dev articles.

Run from the repository root: `python bench/en-questions/make.py [--source ../shared/bench/idkmrc-id]`.
It rewrites docs.jsonl and qa.jsonl next to this file, deterministically.

Selection (idkmrc-id dev questions, articles in file order): for each article, its first answerable
and its first unanswerable question; for the first 12 articles, the first two of each. Questions in
EXCLUDED are skipped (the next one of the same kind takes their place) because their source label or
gold is wrong, so a correct reply would be scored as a failure.

Each question is translated by hand below (TRANSLATIONS, keyed by the source id). The translation
keeps names and numbers, and for a near-miss unanswerable question it keeps the swapped detail that
makes it unanswerable ("died" for "born", "end" for "start", a changed name or year). Labels are kept:
`answerable` and `answers` are the source's, so gold answers stay the Indonesian article's words,
which is what Kutip copies.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "bench" / "idkmrc-id"
SPLIT = "dev"
ARTICLES_WITH_TWO_PAIRS = 12

EXCLUDED = {
    "idkv01-q00": "gold 'Napoleon' formed the Confederation of the Rhine that preceded the German one; "
    "the article never says who formed the German Confederation",
    "idkv02-q02": "gold 'Kaapstad' is the city's Dutch name, not its founder (the article says 'orang Belanda')",
    "idkv04-q02": "gold '1948' is when the communist regime rose; the article says the party was already fighting for "
    "power after the Second World War, and never dates its founding",
    "idkv10-q00": "the day is celebrated every 14 Juli; the gold '14 Juli 1789' is the storming of the Bastille, "
    "so the right answer would be scored wrong",
    "idkv10-q01": "labelled unanswerable, but the article places the main celebration (the parade) on the "
    "Champs-Elysees, Paris",
    "idkv10-q03": "labelled unanswerable ('how is it celebrated?'), but the article describes the military parade",
    "idkv13-q00": "asks about the Gupta empire; the article is about Asoka's (Maurya) empire and never names Gupta",
    "idkv13-q01": "near-miss of idkv13-q00, which is excluded",
    "idkv49-q01": "labelled unanswerable, but the article dates the first Palestinian election (20 Januari 1996)",
    "idkv54-q01": "labelled unanswerable, but the article says the caliphate ruled 'dari tahun 929 hingga 1031'",
    "idkv70-q01": "the same question as idkv70-q00 ('baht', answerable) labelled unanswerable",
}

TRANSLATIONS = {
    "idkv00-q00": "What does GPS stand for?",
    "idkv00-q01": "Which branch of natural science studies reptiles?",
    "idkv00-q02": "Which branch of natural science does not study reptiles?",
    "idkv00-q04": "What does 'fierce reptile' mean in Latin?",
    "idkv01-q01": "Who formed Russia?",
    "idkv01-q02": "What is the story of Hua Pi about?",
    "idkv01-q03": "What is the story of Blue Pi about?",
    "idkv01-q04": "What is the largest kind of shark in the world?",
    "idkv02-q00": "Where is the University of Cape Town located?",
    "idkv02-q01": "Where was the University of Cape Town located when it was first built?",
    "idkv02-q03": "Who founded Cape Town in 1852?",
    "idkv02-q04": "What is meant by homeostasis?",
    "idkv03-q00": "What does the term hominid mean?",
    "idkv03-q01": "What does the term Homo Sanders mean?",
    "idkv03-q02": "What does the word basilica mean?",
    "idkv03-q04": "When was the father of the Muslim Abdul Hamid of Kendal born?",
    "idkv04-q00": "Who led the Chitral Expedition?",
    "idkv04-q01": "Who led the Peshawar Expedition?",
    "idkv04-q03": "When was the Communist Party of Czechoslovakia dissolved?",
    "idkv04-q04": "What is meant by the Ten Tribes of Israel?",
    "idkv05-q00": "Where is the Jordan River?",
    "idkv05-q01": "Where is the river of Egypt?",
    "idkv05-q02": "What is the area of West Pasaman Regency?",
    "idkv05-q03": "What is the area of West Mantan Regency?",
    "idkv06-q00": "What is nuclear fusion?",
    "idkv06-q01": "How many districts are there in Serang Regency?",
    "idkv06-q02": "How many districts are there in Bertengah Regency?",
    "idkv06-q04": "When was Egypt's central government at its height?",
    "idkv07-q00": "What is the definition of a market in economics?",
    "idkv07-q01": "What is not the definition of a market in economics?",
    "idkv07-q02": "What does 'market' mean in economics?",
    "idkv07-q04": "Which language of the majority of Australia's population has been spoken the longest?",
    "idkv08-q00": "How many regencies are there in Indonesia?",
    "idkv08-q01": "How many non-regency areas are there in Indonesia?",
    "idkv08-q02": "What is the area of Tomohon?",
    "idkv08-q03": "What is the area of Mount Mahawu?",
    "idkv09-q00": "Where is South African Airways headquartered?",
    "idkv09-q01": "Where are South African Airways' branch offices?",
    "idkv09-q02": "Who are the parents of Mahasthavira Vajragiri?",
    "idkv09-q03": "Who are the parents of Mahasthavira Gwan?",
    "idkv10-q02": "When was France's independence day abolished?",
    "idkv10-q04": "When was France's independence day banned?",
    "idkv10-q05": "What was the area of the Kingdom of Prussia?",
    "idkv10-q07": "What is meant by Sunni Islam?",
    "idkv11-q00": "Where is the Mahakam Delta located?",
    "idkv11-q01": "What is meant by a village?",
    "idkv11-q02": "What is meant by a strategically located village?",
    "idkv11-q03": "What is a village according to Wikipedia?",
    "idkv12-q00": "Where was Saint Francis Xavier born?",
    "idkv12-q01": "Where did Saint Francis Xavier die?",
    "idkv13-q02": "Who was the successor of Asoka the Great?",
    "idkv13-q03": "Who was the successor of Asoka the Great in 1781?",
    "idkv14-q00": "Who abolished slavery in the United States?",
    "idkv14-q01": "Who practised slavery in the United States?",
    "idkv15-q00": "How many episodes does Clannad have?",
    "idkv15-q01": "How many episodes of Clannad are in the special edition?",
    "idkv16-q00": "Who was Saint George?",
    "idkv16-q01": "Where is Saint George?",
    "idkv17-q00": "How many times did Maumoon Abdul Gayoom become president?",
    "idkv17-q01": "How many times did Maumoon Abdul Gayoom fail to become president?",
    "idkv18-q00": "What are the Decepticons?",
    "idkv18-q02": "How many books are in the Catholic New Testament?",
    "idkv19-q00": "Who is the father of biology?",
    "idkv19-q01": "Who is the mother of biology?",
    "idkv20-q00": "What is astrology?",
    "idkv20-q01": "What is meant by an astrological forecast?",
    "idkv21-q00": "When did Fly to the Sky debut?",
    "idkv21-q01": "When did Sky to the Sky break up?",
    "idkv22-q00": "What is the official language of Malaysia?",
    "idkv22-q01": "What is the official language used in China?",
    "idkv23-q00": "When did Yahoo! Koprol start being used in Indonesia?",
    "idkv23-q01": "When was Yahoo! Koprol discontinued in Indonesia?",
    "idkv24-q00": "What is the Aramaic language?",
    "idkv24-q01": "What is the Western language?",
    "idkv25-q00": "When did the Battle of the Kerch Peninsula take place?",
    "idkv25-q01": "When did the Battle of the Kerch Peninsula end?",
    "idkv26-q00": "What was Turbo's first work?",
    "idkv26-q01": "What was Deux's first work?",
    "idkv27-q00": "When was Władysław I given the title of duke?",
    "idkv27-q01": "When was Ivan I given the title of duke?",
    "idkv28-q00": "What is meant by ELO?",
    "idkv28-q01": "What is meant by ELS?",
    "idkv29-q00": "When was Yoweri Kaguta Museveni born?",
    "idkv29-q01": "When was Yoweri Muggota Museveni expelled?",
    "idkv30-q00": "What is the largest bread-making company in Indonesia?",
    "idkv30-q01": "What is the smallest bread-making company outside England?",
    "idkv31-q00": "When was the Kingdom of Shilla founded?",
    "idkv31-q01": "When was the Kingdom of Sands founded?",
    "idkv32-q00": "When did Arnulf become a duke?",
    "idkv32-q01": "When did Bertulf become a duke?",
    "idkv33-q00": "In what year did Huo Yuanjia die?",
    "idkv33-q01": "In what year did Tainji die?",
    "idkv34-q00": "How long does the Earth take to orbit the Sun?",
    "idkv34-q01": "For how long does the Earth not orbit the Sun?",
    "idkv35-q00": "What is Surah Luqman about?",
    "idkv35-q01": "What is verse 10 of Surah Luqman about?",
    "idkv36-q00": "How long was Deng Xiaoping a revolutionary leader in the Chinese Communist Party?",
    "idkv36-q01": "How long was Chen Xiaoping a revolutionary leader in the Chinese Communist Party?",
    "idkv37-q00": "Where was the first IPDN located?",
    "idkv37-q02": "When is the Belian Sentiu ceremony performed?",
    "idkv38-q00": "What is a logarithm?",
    "idkv38-q01": "What are the types of logarithm?",
    "idkv39-q00": "What is the area of Murung Raya Regency?",
    "idkv39-q01": "What is the area of the southern part of Murung Raya Regency?",
    "idkv40-q00": "What is the name of a tourist attraction in Pemalang?",
    "idkv40-q01": "What is the name of a tourist attraction in Radar?",
    "idkv41-q00": "When did the Mir space station stop operating?",
    "idkv41-q01": "What was the temporary home of Soviet astronauts while in space?",
    "idkv42-q00": "What is the area of Tabalong Regency?",
    "idkv42-q01": "What is the area of South Regency?",
    "idkv43-q00": "At what altitude is Paro Taktsang located?",
    "idkv43-q02": "How many weeks does the middle-week stage of pregnancy last?",
    "idkv44-q00": "How many villages are there in Gresik Regency?",
    "idkv44-q01": "How many villages are there in East Regency?",
    "idkv45-q00": "When was Toko Gunung Agung founded?",
    "idkv45-q01": "When did Toko Gunung Agung close?",
    "idkv46-q00": "How many rapid transit lines are there in Rome?",
    "idkv46-q01": "What is the size of the rapid transit lines in Rome?",
    "idkv47-q00": "What is Falintil?",
    "idkv47-q01": "What is Fatintil?",
    "idkv48-q00": "Who was the first king of the Kacirebonan Sultanate?",
    "idkv48-q01": "Who was not the first king of the Kacerobunan Sultanate?",
    "idkv49-q00": "Where are elections held in Palestine?",
    "idkv49-q02": "Where were the elections in Palestine dissolved?",
    "idkv50-q00": "What is meant by the need for shelter?",
    "idkv50-q02": "When was the last James Bond film released?",
    "idkv51-q00": "How many districts are there in Situbondo Regency?",
    "idkv51-q01": "How many municipalities are there in Situbondo Regency?",
    "idkv52-q00": "What is meant by massively multiplayer?",
    "idkv52-q01": "What is meant by native multiplayer?",
    "idkv53-q00": "When was Metal Gear Solid released?",
    "idkv53-q01": "When was Metal Electronics released?",
    "idkv54-q00": "When was the Caliphate of Cordoba established?",
    "idkv54-q03": "Where does the jerut jerang come from?",
    "idkv55-q00": "Who are the Magi?",
    "idkv55-q01": "Who are the eastern Magi?",
    "idkv56-q00": "In which region was Islam first spread in Indonesia?",
    "idkv56-q01": "In which region was Islam first spread in South Africa?",
    "idkv57-q00": "What is the area of Kansas City?",
    "idkv57-q01": "How high is Kansas City?",
    "idkv58-q00": "Who conceived the Jakarta Flood Canal?",
    "idkv58-q01": "Who conceived the Atlantic Flood Canal?",
    "idkv59-q00": "Where is the oldest Catholic church in Southeast Asia?",
    "idkv59-q01": "Where is the youngest Catholic church in Southeast Asia?",
    "idkv60-q00": "Where is Donggala located?",
    "idkv60-q04": "Who was the famous father of industrial engineering at the start of 1718?",
    "idkv61-q00": "When did Bank BCA issue debit cards?",
    "idkv61-q01": "When did Bank BCA abolish debit cards?",
    "idkv62-q00": "Who drafted the text of the proclamation?",
    "idkv62-q02": "Who drafted the text of the American proclamation?",
    "idkv63-q00": "What is The Years of Rice and Salt about?",
    "idkv63-q02": "What is Budi Susilo Soepandji's last education?",
    "idkv64-q00": "Who is R.L. Stine?",
    "idkv64-q02": "Who came up with biological Gradisi?",
    "idkv65-q00": "What is the area of the Katulampa Weir?",
    "idkv65-q01": "What is the area of the Katulampa Flood?",
    "idkv66-q00": "Where does the Angin Mamiri dance come from?",
    "idkv66-q01": "Where does the Modern Angin Mamiri dance come from?",
    "idkv67-q00": "Where is the Museum Anak Kolong Tangga located?",
    "idkv67-q01": "Where is the branch of the Museum Anak Kolong Tangga located?",
    "idkv68-q00": "What was the name of the first aircraft owned by Indonesia?",
    "idkv68-q02": "What is the name of Indonesia's last aircraft?",
    "idkv69-q00": "What is a corvette?",
    "idkv69-q01": "What is meant by a patrol corvette?",
    "idkv70-q00": "What is the name of Thailand's currency?",
    "idkv70-q04": "Since when have Yakuza leaders appeared in Japan?",
    "idkv71-q00": "Who founded Proton?",
    "idkv71-q03": "What is the state of the largest regency in East Java Province?",
    "idkv72-q00": "When was Walt Disney Animation Studios founded?",
    "idkv72-q02": "What audio storage device is still produced today?",
    "idkv73-q00": "What does the word whataboutism mean?",
    "idkv73-q03": 'What is the name of the husband of Sir Alexander Chapman "Alex" Ferguson?',
    "idkv74-q00": "What is the area of the country of Wales?",
    "idkv74-q01": "What is the area of the government office of the country of Wales?",
    "idkv75-q00": "What is the definition of psychopathology?",
    "idkv75-q01": "What counts as a type of psychopathology?",
    "idkv76-q00": "What colour is the Bakas snake?",
    "idkv76-q01": "How does the Bakas snake reproduce?",
    "idkv77-q00": "What is the area of Banggai Regency?",
    "idkv77-q03": "What made Ferdinand's position as heir to the throne advantageous?",
    "idkv78-q00": "What is the first Islamic art at Baitul Qur'an?",
    "idkv78-q03": "What is meant by multi-directional communication?",
    "idkv79-q00": "In which centuries was Japan's feudal era?",
    "idkv79-q01": "In which century was Japan's modern era?",
    "idkv80-q00": "When did hip hop music first appear?",
    "idkv80-q02": "Based on what evidence can Mars be inhabited by humans?",
    "idkv81-q00": "When did Sakurajima first erupt?",
    "idkv81-q03": "Why does Sonic like being near water?",
    "idkv82-q00": "When was Bob Dylan born?",
    "idkv82-q01": "When did Bob Dylan die?",
    "idkv83-q00": "Who played the Beast in the Beauty and the Beast series?",
    "idkv83-q04": "When was the most recent anniversary of the city of Balikpapan?",
    "idkv84-q00": "When was Naguib Mahfouz born?",
    "idkv84-q02": "When was the anime film Blood DC released?",
    "idkv85-q00": "Who founded PT Scooter Victory Inter Part?",
    "idkv85-q03": "Who was the first Western feminist activist?",
    "idkv86-q00": "What is the main task of the angel Israfil in Islam?",
    "idkv86-q01": "What is the main task of the angel Skrip?",
    "idkv88-q00": "Who used aircraft carriers effectively at the start of World War II?",
    "idkv88-q01": "Who used aircraft carriers effectively at the end of World War II?",
}


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def select(questions: list[dict]) -> list[dict]:
    """The chosen source questions, in source file order."""
    by_doc: dict[str, list[dict]] = {}
    for row in questions:
        if row["split"] == SPLIT and row["id"] not in EXCLUDED:
            by_doc.setdefault(row["doc"], []).append(row)
    chosen = set()
    for number, rows in enumerate(by_doc.values()):
        per_kind = 2 if number < ARTICLES_WITH_TWO_PAIRS else 1
        for answerable in (True, False):
            chosen.update(row["id"] for row in [r for r in rows if r["answerable"] is answerable][:per_kind])
    return [row for row in questions if row["id"] in chosen]


def build(source: Path) -> tuple[list[dict], list[dict]]:
    selected = select(read_jsonl(source / "qa.jsonl"))
    ids = {row["id"] for row in selected}
    if ids != set(TRANSLATIONS):
        raise SystemExit(
            f"translations out of step with the selection: missing {sorted(ids - set(TRANSLATIONS))}, "
            f"unused {sorted(set(TRANSLATIONS) - ids)}"
        )
    doc_ids = {row["doc"] for row in selected}
    docs = [row for row in read_jsonl(source / "docs.jsonl") if row["id"] in doc_ids]
    texts = {row["id"]: row["text"].lower() for row in docs}
    qa = []
    for row in selected:
        missing = [a for a in row["answers"] if a.lower() not in texts[row["doc"]]]
        if missing:
            raise SystemExit(f"{row['id']}: gold not in its article: {missing}")
        qa.append(
            {
                "id": f"en-{row['id']}",
                "doc": row["doc"],
                "lang": "en",
                "question": TRANSLATIONS[row["id"]],
                "answers": row["answers"],
                "answerable": row["answerable"],
                "split": SPLIT,
                "source_id": row["id"],
                "source_question": row["question"],
            }
        )
    return docs, qa


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the idkmrc-id benchmark folder")
    args = parser.parse_args()
    docs, qa = build(args.source)
    write_jsonl(HERE / "docs.jsonl", docs)
    write_jsonl(HERE / "qa.jsonl", qa)
    answerable = sum(row["answerable"] for row in qa)
    print(f"{len(qa)} questions ({answerable} answerable, {len(qa) - answerable} not) over {len(docs)} articles")


if __name__ == "__main__":
    main()
