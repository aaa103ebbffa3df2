"""Safety triage on phrasings written for this file (not the eval set): levels, negation, false alarms."""

from __future__ import annotations

import pytest

URGENT = [
    "I've wet myself twice today and my back is killing me",
    "can't hold my pee anymore since the back pain started",
    "there's numbness around my groin and inner thighs",
    "slipped on wet tiles and I cannot put weight on my left leg at all",
    "after the crash I can't stand up",
    "my hip looks deformed after the fall",
    "got a crushing pressure in my chest while stretching",
    "my knee is red and swollen and I've had a fever since yesterday",
    "feeling feverish and my hip joint is hot",
    "I want to end my life",
    "sometimes I think everyone would be better off without me",
    "i keep having thoughts of harming myself",
    # families added for the outsiders' sets (issue 12), each in new words
    "my temp's 38.9 and the hip won't let me roll over",
    "running 103F since last night and my knee is puffy",
    "my 2 year old has a temperature and is really drowsy, barely opening her eyes",
    "since my back went I get no urge to wee and can't tell if I've finished",
    "my back's agony and down below nothing works anymore, can't get hard",
    "sharp pain in my ribs when I breathe in, and my calf has been swollen since the flight",
    "my heart is pounding and my chest feels tight",
    "grandad clutching his chest, gone grey and clammy",
    "my right foot won't come up off the ground since this afternoon",
    "since yesterday my left leg has no power, it just drags",
    "fell off the trampoline and my wrist looks all wrong",
    "her words are all jumbled and one side of her body is floppy",
    "my calf's gone tight like a sausage and warm since the long coach trip",
    "6 months pregnant and one leg is fatter than the other and hot",
    "took a stick to the shin and now the bone looks crooked",
    "I've been stockpiling my sleeping tablets, I have enough now",
    "nobody would notice if I quietly disappeared",
    "he keeps saying he's ready to go and gave away his tools",
    "which bridge is the highest round here",
]
SEE_PROFESSIONAL = [
    "stabbing pain in the groin when I lunge",
    "pain shoots down into my calf when I bend",
    "my foot goes numb in pigeon pose",
    "tingly toes after sitting cross legged",
    "my hip has ached for 4 months",
    "this knee ache has been going on for a couple of months",
    "the pain keeps getting worse every week",
    "twisted my knee at football on saturday and it's swollen",
    "my leg gave way on the stairs",
    "hurts since i came off my bike",
    "my hip was 3/10 in january and it's 7/10 now",
    "copped an elbow to the thigh at basketball and there's a lump, limping a bit",
    "pins n needles runnin down my shin",
]
SAFE = [
    "not numb, just tight",
    "no tingling or numbness, just stiff after work",
    "it's not sharp at all, more of a dull tightness",
    "never had an injury, just tight hamstrings",
    "how do I reduce my injury risk when sprinting?",
    "does foam rolling help prevent injuries",
    "what stretches help after a long day at a desk",
    "can you show me a chest opener? no wait, I mean a hip opener",
    "a number of my friends do yoga, should I?",
    "my hips are tight from sitting",
    "my knees cave in when I squat, how do I fix that",
    "legs feel like they got hit by a truck after spin class, normal?",
    "my heart was racing after the sprint intervals",
    "my glute has a knot in it",
    "hammies tight after sitting 9 hours at my desk",
    "i gave away my old running shoes, what should i buy for hip support",
    "nothing coming out of the tap, anyway my hip is stiff",
]


@pytest.mark.parametrize("text", URGENT)
def test_emergencies_get_urgent_care(content, text):
    triage = content.safety.assess(text)
    assert triage.level == "urgent", text
    wording = content.safety.wording(triage).lower()
    assert "emergency" in wording or "crisis" in wording


@pytest.mark.parametrize("text", SEE_PROFESSIONAL)
def test_red_flags_get_a_professional(content, text):
    triage = content.safety.assess(text)
    assert triage.level == "see_professional", text
    assert "physiotherapist or doctor" in content.safety.wording(triage)


@pytest.mark.parametrize("text", SAFE)
def test_no_false_alarm(content, text):
    assert content.safety.assess(text).level == "none", text


def test_urgent_beats_professional(content):
    # numbness alone is a red flag, numbness with loss of bladder control is an emergency
    assert content.safety.assess("numb leg and I lost control of my bladder").level == "urgent"


def test_negation_does_not_hide_a_second_red_flag(content):
    assert content.safety.assess("it's not numb but it has been getting worse for weeks").level == "see_professional"


def test_crisis_wording_points_to_real_help(content):
    triage = content.safety.assess("honestly I don't want to live anymore")
    text = content.safety.wording(triage)
    assert triage.rule.topic == "crisis-support"
    assert "988" in text and "116 123" in text


async def test_coach_answers_red_flags_before_anything_else(chat):
    replies = await chat.say("how do i do pigeon pose, i get a sharp pain in my hip in it")
    assert replies[0].safety == "see_professional"
    assert "Step 1" not in chat.text()  # no exercise card or routine instead of the referral
    replies = await chat.say("give me a routine, but I also have numbness in my groin")
    assert [r.safety for r in replies] == ["urgent"]
