"""The fake Discord against the real discord.py client: gateway, REST, app commands, components, failures."""

from __future__ import annotations

import asyncio
import io
import time

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord_api import (
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    OTHER_GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
    FakeDiscord,
)

EXERCISES = ["hip flexor stretch", "pigeon pose", "90/90 switch", "hip circles"]


class DoneView(discord.ui.View):
    """A persistent view: it survives restarts because its button has a fixed custom_id."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Done", custom_id="hip:done", style=discord.ButtonStyle.success)
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="Nice work!", view=None)


class StreakButton(discord.ui.DynamicItem[discord.ui.Button], template=r"hip:streak:(?P<user>\d+)"):
    def __init__(self, user_id: int) -> None:
        super().__init__(discord.ui.Button(label="Streak", custom_id=f"hip:streak:{user_id}"))
        self.user_id = user_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match):  # noqa: ANN206
        return cls(int(match["user"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Streak of {self.user_id}: 3 days", ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="How did it feel?", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Thanks: {self.text.value}", ephemeral=True)


class Bot:
    """A small discord.py bot shaped like the Hip Coach adapter."""

    def __init__(self, fake: FakeDiscord, intents: discord.Intents | None = None) -> None:
        self.fake = fake
        self.client = discord.Client(intents=intents or discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self.client)
        self.seen: list[discord.Message] = []
        self.resumed = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.client.add_view(DoneView())
        self.client.add_dynamic_items(StreakButton)

        @self.client.event
        async def on_message(message: discord.Message) -> None:
            if message.author != self.client.user:
                self.seen.append(message)

        @self.client.event
        async def on_resumed() -> None:
            self.resumed.set()

        hip = app_commands.Group(name="hip", description="Hip mobility coach")

        @hip.command(name="ask", description="Ask the coach a question")
        @app_commands.describe(question="What you want to know")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.send_message(f"You asked: {question}", ephemeral=True)

        @hip.command(name="exercise", description="Show an exercise")
        async def exercise(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"Exercise: {name}", view=DoneView())

        @exercise.autocomplete("name")
        async def exercise_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=n, value=n) for n in EXERCISES if current.lower() in n]

        @hip.command(name="plan", description="A slow answer")
        async def plan(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("Plan, part 1")
            await interaction.followup.send("Plan, part 2", ephemeral=True)
            await interaction.edit_original_response(content="Plan, part 1 (edited)")

        @hip.command(name="slow", description="A slow, private answer")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="Here is your private plan")

        @hip.command(name="feedback", description="Tell us how it went")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        self.tree.add_command(hip)

        @self.tree.command(name="hipadmin", description="Admins only")
        @app_commands.default_permissions(manage_guild=True)
        @app_commands.guild_only()
        async def hipadmin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok", ephemeral=True)

    async def start(self) -> None:
        self.task = asyncio.create_task(self.client.start(self.fake.token))
        await self.fake.wait_ready(3)
        await asyncio.wait_for(self.client.wait_until_ready(), 3)

    async def close(self) -> None:
        await self.client.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)

    def channel(self, channel_id: int = CHANNEL_ID) -> discord.TextChannel:
        channel = self.client.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        return channel


@pytest.fixture
async def fake(monkeypatch):
    async with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        yield fake
    assert not fake.internal_errors


@pytest.fixture
async def bot(fake):
    bot = Bot(fake)
    await bot.start()
    yield bot
    await bot.close()


# -- connecting ----------------------------------------------------------------------------------------------


async def test_connects_caches_both_guilds_and_shuts_down_cleanly(monkeypatch):
    async with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
        bot = Bot(fake)
        await bot.start()
        client = bot.client
        assert client.user is not None and client.user.id == fake.bot_user_id
        assert client.application_id == fake.application_id
        assert {g.id for g in client.guilds} == {GUILD_ID, OTHER_GUILD_ID}
        for guild_id in (GUILD_ID, OTHER_GUILD_ID):
            guild = client.get_guild(guild_id)
            assert guild is not None and guild.me is not None
            assert [c.id for c in guild.text_channels] == [fake.channel_id(guild_id)]
            assert guild.text_channels[0].permissions_for(guild.me).send_messages
        assert fake.identify_count == 1 and fake.resume_count == 0
        assert fake.identified_intents == discord.Intents.default().value
        assert fake.heartbeat_count >= 1  # discord.py beats right after HELLO
        assert [c.route for c in fake.calls] == ["GET /users/@me", "GET /oauth2/applications/@me"]
        await bot.close()
        # discord.py's poll loop wins the race and closes with 4000: the session stays resumable, as on Discord
        await fake.wait_for(lambda: not fake.connected, 2, "the socket to close")
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert leftovers == []


async def test_rest_basics_content_type_auth_and_unknown_routes(fake):
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.api_base}/gateway/bot", headers=headers) as response:
            assert response.headers["Content-Type"] == "application/json"
            assert (await response.json())["url"] == fake.gateway_url
        async with http.get(f"{fake.api_base}/users/@me") as response:
            assert response.status == 401
        async with http.get(f"{fake.api_base}/nope/123", headers=headers) as response:
            assert response.status == 404
            assert await response.json() == {"message": "404: Not Found", "code": 0}
        async with http.post(f"{fake.api_base}/users/@me/channels", headers=headers, json={"recipient_id": 1}) as r:
            assert (r.status, (await r.json())["code"]) == (400, 50033)
    assert [(c.route, c.status) for c in fake.calls][-2:] == [
        ("GET /nope/123", 404),
        ("POST /users/@me/channels", 400),
    ]
    assert fake.calls[-1].json == {"recipient_id": 1}


async def test_zlib_stream_frames_work_too(fake):
    fake.gateway_compression = True
    bot = Bot(fake)
    await bot.start()
    fake.user_message("compressed hello")
    await fake.wait_for(lambda: bot.seen, 2, "on_message")
    assert bot.seen[0].content == "compressed hello"
    await bot.close()


# -- application commands ------------------------------------------------------------------------------------


async def test_command_sync_guild_and_global(bot, fake):
    bot.tree.copy_global_to(guild=discord.Object(GUILD_ID))
    synced_guild = await bot.tree.sync(guild=discord.Object(GUILD_ID))
    synced_global = await bot.tree.sync()
    assert fake.command_syncs == [GUILD_ID, None]
    assert [c.name for c in synced_guild] == ["hip", "hipadmin"] == [c["name"] for c in fake.commands(GUILD_ID)]
    assert [c.name for c in synced_global] == ["hip", "hipadmin"] == [c["name"] for c in fake.commands()]
    assert synced_guild[0].id != synced_global[0].id
    hip, hipadmin = fake.commands()
    assert hipadmin["default_member_permissions"] == str(discord.Permissions(manage_guild=True).value)
    assert synced_global[1].default_member_permissions == discord.Permissions(manage_guild=True)
    assert {o["name"]: o["type"] for o in hip["options"]} == {
        "ask": 1,
        "exercise": 1,
        "plan": 1,
        "slow": 1,
        "feedback": 1,
    }
    again = await bot.tree.sync()
    assert again[0].id == synced_global[0].id  # ids are stable across re-syncs
    fetched = await bot.tree.fetch_commands(guild=discord.Object(GUILD_ID))
    assert [c.id for c in fetched] == [c.id for c in synced_guild]


async def test_invalid_command_payload_is_rejected_like_discord(bot, fake):
    http = bot.client.http
    bad = [{"name": "Bad Name", "description": "x", "type": 1}]
    with pytest.raises(discord.HTTPException) as caught:
        await http.bulk_upsert_global_commands(fake.application_id, payload=bad)
    assert (caught.value.status, caught.value.code) == (400, 50035)
    optional_first = [
        {
            "name": "hip",
            "description": "x",
            "options": [
                {"type": 3, "name": "a", "description": "a"},
                {"type": 3, "name": "b", "description": "b", "required": True},
            ],
        }
    ]
    with pytest.raises(discord.HTTPException, match="Required options"):
        await http.bulk_upsert_guild_commands(fake.application_id, GUILD_ID, payload=optional_first)
    assert fake.commands() == [] and fake.commands(GUILD_ID) == [] and fake.command_syncs == []


async def test_slash_gets_ephemeral_answer(bot, fake):
    await bot.tree.sync(guild=None)
    interaction_id = fake.slash(
        "hip", subcommand="ask", options={"question": "Is it ok to stretch daily?"}, guild_id=GUILD_ID
    )
    await fake.wait_messages(1)
    [message] = fake.responses_to(interaction_id)
    assert message["content"] == "You asked: Is it ok to stretch daily?"
    assert message["flags"] == EPHEMERAL and message["via"] == "interaction"
    assert message["channel_id"] == CHANNEL_ID and message["guild_id"] == GUILD_ID
    assert fake.interaction_responses == [
        {"interaction_id": interaction_id, "type": 4, "data": fake.interaction_responses[0]["data"]}
    ]
    assert "MESSAGE_CREATE" not in [event for event, _ in fake.dispatched[-1:]]  # ephemeral: no echo
    callback = fake.calls_to("POST /interactions/*/callback")[0]
    assert callback.query == {"with_response": "1"}


async def test_slash_in_dm_and_unsynced_and_visibility_checks(bot, fake):
    interaction_id = fake.slash("hip", subcommand="ask", options={"question": "dm?"})  # not synced: no checks
    await fake.wait_response(interaction_id)
    assert fake.responses_to(interaction_id)[0]["dm_user_id"] == USER_ID
    await bot.tree.sync()
    with pytest.raises(ValueError, match="not a synced command"):
        fake.slash("nope")
    with pytest.raises(ValueError, match="required option"):
        fake.slash("hip", subcommand="ask", guild_id=GUILD_ID)
    with pytest.raises(PermissionError):
        fake.slash("hipadmin", guild_id=GUILD_ID)  # default_member_permissions hides it from ordinary members
    with pytest.raises(ValueError, match="not available in DMs"):
        fake.slash("hipadmin", permissions=discord.Permissions.all().value)
    admin_id = fake.slash("hipadmin", guild_id=GUILD_ID, permissions=discord.Permissions(manage_guild=True).value)
    await fake.wait_response(admin_id)
    assert fake.responses_to(admin_id)[0]["content"] == "admin ok"


async def test_deferred_then_followups(bot, fake):
    await bot.tree.sync()
    interaction_id = fake.slash("hip", subcommand="plan", guild_id=GUILD_ID)
    await fake.wait_for(lambda: len(fake.edits) == 1, 3, "the edit of the original response")
    assert fake.response_types(interaction_id) == [5]
    first, second = fake.responses_to(interaction_id)
    assert first["deferred"] and first["via"] == "followup" and first["flags"] == 0  # replaced the thinking message
    assert second["content"] == "Plan, part 2" and second["flags"] == EPHEMERAL
    assert first["content"] == "Plan, part 1 (edited)" and first["edited"]
    assert fake.edits[0]["message_id"] == first["id"] and fake.edits[0]["via"] == "webhook"
    assert fake.message(first["id"])["content"] == "Plan, part 1 (edited)"
    slow_id = fake.slash("hip", subcommand="slow", guild_id=GUILD_ID)
    await fake.wait_for(lambda: fake.responses_to(slow_id), 3, "the deferred answer")
    [slow] = fake.responses_to(slow_id)
    assert slow["content"] == "Here is your private plan" and slow["flags"] == EPHEMERAL
    assert slow["deferred"] and slow["via"] == "interaction" and not slow["edited"] and len(fake.edits) == 1


async def test_autocomplete_choices(bot, fake):
    await bot.tree.sync()
    interaction_id = fake.autocomplete(
        "hip", subcommand="exercise", options={"name": "hip"}, focused="name", guild_id=GUILD_ID
    )
    choices = await fake.wait_choices(interaction_id)
    assert [c["value"] for c in choices] == ["hip flexor stretch", "hip circles"]
    assert fake.messages == []


async def test_button_press_edits_the_message(bot, fake):
    await bot.tree.sync()
    interaction_id = fake.slash("hip", subcommand="exercise", options={"name": "pigeon pose"}, guild_id=GUILD_ID)
    [message] = await fake.wait_messages(1)
    assert message["interaction_id"] == interaction_id
    assert message["components"][0]["components"][0]["custom_id"] == "hip:done"
    press_id = fake.press("hip:done", message_id=message["id"], user_id=OTHER_USER_ID)
    await fake.wait_for(lambda: fake.edits, 3, "the button's edit")
    assert fake.response_types(press_id) == [7]
    assert fake.edits[0]["via"] == "interaction" and fake.edits[0]["interaction_id"] == press_id
    assert fake.message(message["id"])["content"] == "Nice work!"
    assert fake.message(message["id"])["components"] == []
    with pytest.raises(ValueError, match="no component"):
        fake.press("hip:done", message_id=message["id"])


async def test_persistent_and_dynamic_items_on_channel_messages(bot, fake):
    view = discord.ui.View(timeout=None)
    view.add_item(StreakButton(USER_ID))
    sent = await bot.channel().send("Your streak", view=view)
    done = await bot.channel(OTHER_CHANNEL_ID).send("Stretch!", view=DoneView())
    assert fake.sent_in(CHANNEL_ID)[0]["via"] == "channel"
    streak_press = fake.press(f"hip:streak:{USER_ID}", message_id=sent.id, guild_id=GUILD_ID)
    done_press = fake.press("hip:done", message_id=done.id)
    await fake.wait_for(lambda: fake.responses_to(streak_press) and fake.edits, 3, "both answers")
    assert fake.responses_to(streak_press)[0]["content"] == f"Streak of {USER_ID}: 3 days"
    assert fake.edits[0]["interaction_id"] == done_press
    assert fake.message(done.id)["content"] == "Nice work!"


async def test_modal_roundtrip(bot, fake):
    await bot.tree.sync()
    opener = fake.slash("hip", subcommand="feedback", guild_id=GUILD_ID)
    response = await fake.wait_response(opener)
    assert response["type"] == 9 and response["data"]["title"] == "Feedback"
    submit = fake.submit_modal(response["data"]["custom_id"], {"feedback:text": "much looser"})
    await fake.wait_for(lambda: fake.responses_to(submit), 3, "the modal answer")
    assert fake.responses_to(submit)[0]["content"] == "Thanks: much looser"


# -- messages ------------------------------------------------------------------------------------------------


async def test_dm_to_a_user_and_closed_dms(bot, fake):
    user = await bot.client.fetch_user(USER_ID)
    await user.send("Time for your hip circles!")
    await user.send("Your plan", file=discord.File(io.BytesIO(b"day 1: hip circles"), "plan.txt"))
    dm, with_file = fake.sent_to_user(USER_ID)
    assert dm["channel_id"] == fake.dm_channel_id(USER_ID) and dm["guild_id"] is None
    assert dm["content"] == "Time for your hip circles!" and dm["via"] == "channel" and dm["dm_user_id"] == USER_ID
    assert [(a["filename"], a["size"]) for a in with_file["attachments"]] == [("plan.txt", 18)]
    assert fake.calls_to("POST /channels/*/messages")[-1].files[0]["data"] == b"day 1: hip circles"
    fake.close_dms(OTHER_USER_ID)
    other = await bot.client.fetch_user(OTHER_USER_ID)
    with pytest.raises(discord.Forbidden) as caught:
        await other.send("hello?")
    assert caught.value.code == 50007
    assert fake.sent_to_user(OTHER_USER_ID) == []


async def test_rate_limited_post_is_retried_and_recorded_once(bot, fake):
    fake.fail_next("POST /channels/*/messages", 429, retry_after=0.05)
    started = time.monotonic()
    await bot.channel().send("after a 429")
    assert time.monotonic() - started >= 0.05
    assert [c.status for c in fake.calls_to("POST /channels/*/messages")] == [429, 200]
    assert [m["content"] for m in fake.sent_in(CHANNEL_ID)] == ["after a 429"]


async def test_an_enforced_nonce_seen_before_returns_that_message_instead_of_a_second(bot, fake):
    channel = bot.channel()
    first = await channel.send("day 3 of the hip challenge", nonce="hc-c42.0")
    again = await channel.send("day 3 of the hip challenge", nonce="hc-c42.0")
    other = await channel.send("day 4 of the hip challenge", nonce="hc-c43.0")
    assert again.id == first.id and other.id != first.id
    assert [m["content"] for m in fake.sent_in(CHANNEL_ID)] == [
        "day 3 of the hip challenge",
        "day 4 of the hip challenge",
    ]
    assert fake.nonce_replays == 1
    # A request carried out whose answer was lost: discord.py's send fails, the repeat with its nonce is a no-op.
    fake.lose_answer_next("POST /channels/*/messages")
    with pytest.raises((aiohttp.ClientError, OSError)):
        await channel.send("day 5 of the hip challenge", nonce="hc-c44.0")
    await channel.send("day 5 of the hip challenge", nonce="hc-c44.0")
    assert [m["content"] for m in fake.sent_in(CHANNEL_ID)][-1:] == ["day 5 of the hip challenge"]
    assert len(fake.sent_in(CHANNEL_ID)) == 3 and fake.nonce_replays == 2


async def test_channel_errors_and_injected_failures(bot, fake):
    fake.delete_channel(OTHER_CHANNEL_ID)
    with pytest.raises(discord.NotFound) as gone:
        await bot.channel(OTHER_CHANNEL_ID).send("hello")
    assert gone.value.code == 10003
    fake.revoke_permission(CHANNEL_ID)
    with pytest.raises(discord.Forbidden) as denied:
        await bot.channel().send("hello")
    assert denied.value.code == 50013
    fake.restore_permission(CHANNEL_ID)
    fake.fail_next(r"POST /channels/\d+/messages", 400, code=50035, message="Invalid Form Body")
    with pytest.raises(discord.HTTPException) as bad:
        await bot.channel().send("hello")
    assert (bad.value.status, bad.value.code) == (400, 50035)
    with pytest.raises(discord.HTTPException) as too_long:
        await bot.channel().send("x" * 2001)
    assert too_long.value.code == 50035
    fake.hang_next("/channels/*/typing", 0.2)
    started = time.monotonic()
    await bot.channel().typing()
    assert time.monotonic() - started >= 0.2 and fake.typing == [CHANNEL_ID]
    message = await bot.channel().send("ok now")
    await message.edit(content="ok now (edited)")
    assert fake.message(message.id)["edited"] and fake.edits[-1]["via"] == "channel"
    assert [m["content"] for m in fake.messages] == ["ok now (edited)"]


async def test_mentions_dms_and_message_content_intent(bot, fake):
    fake.user_message("no mention here", guild_id=GUILD_ID)
    mention_id = fake.user_message("how long should I hold?", guild_id=GUILD_ID, mention_bot=True)
    fake.user_message("hi in DM", user_id=OTHER_USER_ID)
    await fake.wait_for(lambda: len(bot.seen) == 3, 3, "three on_message calls")
    plain, mention, dm = bot.seen
    assert plain.content == ""  # no message_content intent: Discord blanks it
    assert mention.id == mention_id and bot.client.user in mention.mentions
    assert mention.content == f"<@{fake.bot_user_id}> how long should I hold?"
    assert mention.guild is not None and mention.guild.id == GUILD_ID and mention.author.id == USER_ID
    assert dm.guild is None and dm.content == "hi in DM" and dm.author.id == OTHER_USER_ID
    reply = await mention.reply("Hold for 30 seconds.")
    assert fake.message(reply.id)["reply_to"] == mention_id
    fake.user_message("thanks!", guild_id=GUILD_ID, reply_to=reply.id)  # a reply pings the bot
    await fake.wait_for(lambda: len(bot.seen) == 4, 3, "the reply")
    assert bot.seen[3].content == "thanks!" and bot.seen[3].reference.message_id == reply.id


async def test_disconnect_resumes_and_replays_missed_events(bot, fake):
    await fake.disconnect(4000)
    fake.user_message("sent while disconnected", mention_bot=True, guild_id=GUILD_ID)
    await asyncio.wait_for(bot.resumed.wait(), 3)
    await fake.wait_for(lambda: bot.seen, 3, "the replayed message")
    assert bot.seen[0].content.endswith("sent while disconnected")
    assert (fake.identify_count, fake.resume_count) == (1, 1)
    fake.user_message("after resume")
    await fake.wait_for(lambda: len(bot.seen) == 2, 3, "a live event after RESUME")


async def test_invalidated_session_identifies_again(bot, fake):
    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        pass  # discord.py sleeps 5 s before every IDENTIFY that is not the first one

    bot.client.before_identify_hook = no_identify_delay
    await fake.disconnect(4000, invalidate=True)
    await fake.wait_for(lambda: fake.identify_count == 2 and fake.is_ready, 3, "a fresh IDENTIFY")
    assert fake.resume_count == 0
    fake.user_message("after re-identify")
    await fake.wait_for(lambda: bot.seen, 3, "on_message")


async def test_interaction_callback_rules(bot, fake):
    interaction_id = fake.slash("hip", subcommand="ask", options={"question": "?"}, guild_id=GUILD_ID)
    await fake.wait_response(interaction_id)
    it = fake._interactions[interaction_id]
    url = f"{fake.api_base}/interactions/{interaction_id}/{it.token}/callback"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
            assert (response.status, (await response.json())["code"]) == (400, 40060)
        fake.interaction_deadline = 0.0
        late = fake.slash("hip", subcommand="ask", options={"question": "late"}, guild_id=GUILD_ID, check=False)
        await fake.wait_for(lambda: fake.calls_to(f"POST /interactions/{late}/*"), 3, "the late callback")
    assert fake.calls_to(f"POST /interactions/{late}/*")[0].status == 404
    assert fake.responses_to(late) == []


async def test_op7_reconnect_request_resumes(bot, fake):
    await fake.request_reconnect()
    await asyncio.wait_for(bot.resumed.wait(), 3)
    assert (fake.identify_count, fake.resume_count, fake.gateway_connection_count) == (1, 1, 2)


async def test_privileged_intents_members_and_content(fake):
    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    bot = Bot(fake, intents)
    await bot.start()
    guild = bot.client.get_guild(GUILD_ID)
    assert guild is not None and guild.chunked
    assert {m.id for m in guild.members} == {USER_ID, OTHER_USER_ID, fake.bot_user_id}
    members = await guild.query_members(user_ids=[USER_ID])  # op 8 -> GUILD_MEMBERS_CHUNK
    assert [m.name for m in members] == ["alex"]
    fake.user_message("no mention, still visible", guild_id=GUILD_ID)
    await fake.wait_for(lambda: bot.seen, 2, "on_message")
    assert bot.seen[0].content == "no mention, still visible"
    await bot.close()


async def test_disallowed_privileged_intent_closes_with_4014(fake):
    fake.allowed_privileged_intents = 0
    intents = discord.Intents.default()
    intents.message_content = True
    bot = Bot(fake, intents)
    bot.task = asyncio.create_task(bot.client.start(fake.token))
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(bot.task, 3)
    await bot.client.close()


async def test_select_menu_values_and_history(bot, fake):
    picked: list[list[str]] = []

    class Pick(discord.ui.View):
        @discord.ui.select(custom_id="hip:pick", options=[discord.SelectOption(label=n, value=n) for n in EXERCISES])
        async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
            picked.append(select.values)
            await interaction.response.defer()
            await interaction.edit_original_response(content=f"Picked {select.values[0]}", view=None)

    sent = await bot.channel().send("Pick one", view=Pick())
    with pytest.raises(ValueError, match="not options"):
        fake.press("hip:pick", message_id=sent.id, values=["yoga"])
    press_id = fake.press("hip:pick", message_id=sent.id, values=["pigeon pose"])
    await fake.wait_for(lambda: fake.edits, 3, "the edit")
    assert picked == [["pigeon pose"]] and fake.response_types(press_id) == [6]
    assert fake.message(sent.id)["content"] == "Picked pigeon pose" and fake.edits[0]["via"] == "webhook"
    fake.user_message("thanks", guild_id=GUILD_ID, mention_bot=True)
    await fake.wait_for(lambda: bot.seen, 2, "on_message")
    history = [m async for m in bot.channel().history(limit=10)]
    assert [m.id for m in history] == [bot.seen[0].id, sent.id]
    fetched = await bot.channel().fetch_message(sent.id)
    assert fetched.content == "Picked pigeon pose" and fetched.edited_at is not None
