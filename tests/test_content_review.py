"""The content review of November 2026, as a parent would meet it: each corrected answer, asked
in our own words, through the REST channel of the real servers."""

from __future__ import annotations

from bot import content
from tests.conftest import reply_text

CONTACTS = content.load_contacts()
STOP_IT_NOW = CONTACTS["stop_it_now_phone"]
POLICE = CONTACTS["police_non_emergency"]


def test_abuse_images_on_a_partners_laptop_go_to_the_police_before_stop_it_now(chat):
    reply = reply_text(chat.send("I've just found what look like child abuse pictures on my "
                                 "partner's laptop, I feel sick"))
    assert POLICE in reply and STOP_IT_NOW in reply
    assert reply.index(POLICE) < reply.index(STOP_IT_NOW)
    assert reply.index(CONTACTS["emergency"]) < reply.index(STOP_IT_NOW)
    assert "don't confront or warn the person" in reply
    assert "don't move, copy, delete or keep looking at the files" in reply


def test_someone_worried_about_their_own_thoughts_hears_about_stop_it_now_first(chat):
    reply = reply_text(chat.send("I have sexual thoughts about children and I want to stop before "
                                 "I do anything"))
    assert reply.startswith(f"Call Stop It Now on {STOP_IT_NOW}")
    assert reply.index(STOP_IT_NOW) < reply.index(POLICE)


def test_a_teacher_asking_a_child_for_secrecy_gets_ceop_and_do_not_confront(chat):
    reply = reply_text(chat.send("my daughter's PE teacher has been messaging her on snapchat at "
                                 "night and told her to keep it between them"))
    assert CONTACTS["ceop_report_url"] in reply
    assert "Don't confront or contact the person" in reply
    assert "don't pretend to be your child" in reply


def test_a_nudify_app_used_on_classmates_gets_the_iwf_and_report_remove(chat):
    reply = reply_text(chat.send("boys in my son's class used one of those nudify apps to make "
                                 "naked fakes of two girls and shared them"))
    assert CONTACTS["iwf_report_url"] in reply
    assert CONTACTS["report_remove_url"] in reply
    assert "nudify" in reply and "illegal" in reply


def test_a_question_about_loot_boxes_gets_the_2026_pegi_rule(chat):
    reply = reply_text(chat.send("are loot boxes in games ok for my 11 year old, he keeps buying packs"))
    assert "Since June 2026" in reply and "PEGI 16" in reply
