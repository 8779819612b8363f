#!/usr/bin/env python3
# Vendored from the shared OneBot v11 harness (../shared/bench/onebot/loadgen.py) so the
# end-to-end tests run from a clean clone. It plays the implementation side (NapCat role).
"""OneBot v11 load generator that plays the *implementation* side (go-cqhttp / NapCat role).

It connects to a bot's reverse-WebSocket endpoint as a Universal client, sends a lifecycle
`connect` event, then pushes N group-message events and answers every action the bot calls.
Replies (send_group_msg / send_msg / send_private_msg) are matched to the request that caused
them and timed.

Scenarios
  echo  message "/echo <token>"; the bot must reply with text containing <token>.
        Matching: by token (exact, order-independent).
  faq   message is a keyword question from a built-in list; any reply counts as success.
        Matching: a reply segment naming a pending message_id if present, otherwise
        first-in-first-out per group.

Only the standard library and `websockets` are needed. Everything stays on the given URL; use a
127.0.0.1 address. The run is bounded by -n and --max-seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import sys
import time
from collections import Counter, deque

try:
    from websockets.asyncio.client import connect as ws_connect  # websockets >= 13
    _NEW_API = True
except ImportError:  # pragma: no cover - old websockets
    from websockets import connect as ws_connect  # type: ignore
    _NEW_API = False

# Questions for the faq scenario. Each contains one keyword of faq.json (see test_faq_data in
# README): a bot under test must answer every one of them with some message.
FAQ_QUESTIONS = [
    "请问预备期一般是多久？",
    "预备期结束以后怎么转正？",
    "会费每个月要交多少钱？",
    "想请假的话找谁审批？",
    "新人入会需要准备哪些材料？",
    "例会一般几点开始？",
    "活动报名在哪里填？",
    "签到二维码去哪里找？",
    "积分可以兑换什么东西？",
    "考核不通过会怎么样？",
    "我想退会，流程是什么？",
    "办公室地址在哪？",
    "值班表什么时候更新？",
    "培训资料哪里可以下载？",
    "志愿时长怎么统计？",
    "群公告在哪里看？",
    "报销需要什么发票？",
    "推荐人需要满足什么条件？",
    "换届选举什么时候举行？",
    "周末开放时间是几点？",
    "忘记密码了怎么办？",
    "停车收费吗？",
    "器材坏了还能借吗？",
    "体检一般在什么时候？",
    "奖学金怎么评？",
    "补考安排在什么时候？",
    "中午可以在食堂吃饭吗？",
    "快递可以寄到中心吗？",
    "集训班车几点出发？",
    "活动经费怎么申请？",
]

SEND_ACTIONS = {"send_group_msg", "send_msg", "send_private_msg"}
CQ_RE = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[^\]]*)?)\]")


def now_s() -> int:
    return int(time.time())


def cq_unescape(s: str) -> str:
    return s.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")


def cq_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")


def extract_message(msg, auto_escape: bool = False):
    """Return (plain_text, reply_message_id or None) for a OneBot `message` value."""
    if msg is None:
        return "", None
    if isinstance(msg, dict):
        msg = [msg]
    if isinstance(msg, str):
        if auto_escape:
            return msg, None
        parts, reply, pos = [], None, 0
        for m in CQ_RE.finditer(msg):
            parts.append(cq_unescape(msg[pos:m.start()]))
            pos = m.end()
            if m.group(1) == "reply" and reply is None:
                for kv in m.group(2).split(",")[1:]:
                    k, _, v = kv.partition("=")
                    if k == "id":
                        reply = cq_unescape(v)
        parts.append(cq_unescape(msg[pos:]))
        return "".join(parts), reply
    text, reply = [], None
    if isinstance(msg, list):
        for seg in msg:
            if not isinstance(seg, dict):
                continue
            data = seg.get("data") or {}
            if seg.get("type") == "text":
                text.append(str(data.get("text", "")))
            elif seg.get("type") == "reply" and reply is None:
                reply = str(data.get("id"))
    return "".join(text), reply


# ----------------------------------------------------------------------------- /proc sampling
def _read_status_kb(pid: int, key: str):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _proc_tree(root: int):
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, stack = [], [root]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, []))
    return out


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        fields = st[st.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0


class ProcSampler:
    """Samples RSS of --pid and its descendants; VmHWM gives the kernel's exact peak."""

    def __init__(self, pid: int, period: float = 0.2):
        self.pid, self.period = pid, period
        self.peak_tree_kb = 0
        self.peak_rss_kb = 0
        self.start_rss_kb = _read_status_kb(pid, "VmRSS")
        self._cpu0 = None
        self._tick = os.sysconf("SC_CLK_TCK")

    def tree_cpu(self) -> float:
        return sum(_cpu_ticks(p) for p in _proc_tree(self.pid)) / self._tick

    def mark_cpu(self):
        self._cpu0 = self.tree_cpu()

    def cpu_since_mark(self):
        return None if self._cpu0 is None else self.tree_cpu() - self._cpu0

    def sample(self):
        tree = _proc_tree(self.pid)
        total = 0
        for p in tree:
            total += _read_status_kb(p, "VmRSS") or 0
        own = _read_status_kb(self.pid, "VmRSS") or 0
        self.peak_tree_kb = max(self.peak_tree_kb, total)
        self.peak_rss_kb = max(self.peak_rss_kb, own)

    async def run(self, stop: asyncio.Event):
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), self.period)
            except asyncio.TimeoutError:
                pass
        self.sample()

    def result(self):
        return {
            "pid": self.pid,
            "rss_start_mb": round((self.start_rss_kb or 0) / 1024, 1),
            "rss_peak_sampled_mb": round(self.peak_rss_kb / 1024, 1),
            "rss_hwm_mb": round((_read_status_kb(self.pid, "VmHWM") or 0) / 1024, 1),
            "tree_rss_peak_mb": round(self.peak_tree_kb / 1024, 1),
        }


# ----------------------------------------------------------------------------- core
class Req:
    __slots__ = ("idx", "message_id", "group_id", "user_id", "token", "t_send", "done", "warm")

    def __init__(self, idx, message_id, group_id, user_id, token, warm):
        self.idx, self.message_id, self.group_id, self.user_id = idx, message_id, group_id, user_id
        self.token, self.warm = token, warm
        self.t_send = 0.0
        self.done = False


class LoadGen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.tag = "%04x" % self.rng.randrange(0x10000)
        self.token_re = re.compile(r"h%sn(\d+)" % self.tag)
        self.ws = None
        self.window = asyncio.Semaphore(a.window)
        self.next_msg_id = 1_000_000
        self.next_bot_msg_id = 50_000_000
        self.by_token: dict[str, Req] = {}
        self.by_msgid: dict[str, Req] = {}
        self.by_group: dict[int, deque] = {}
        self.inflight: deque = deque()
        self.msg_store: dict[int, dict] = {}
        self.lat_ms: list[float] = []
        self.c = Counter()
        self.actions = Counter()
        self.t_first_send = None
        self.t_last_send = None
        self.t_last_reply = None
        self.measuring = False
        self.closed = asyncio.Event()
        self.users = [a.user_base + i for i in range(a.users)]
        self.groups = [a.group_base + i for i in range(a.groups)]
        self.warm_group = a.group_base + a.groups + 1000  # warm-up traffic never shares a group
        self.all_warm_done = asyncio.Event()

    # -- frames we send
    def _event_base(self):
        return {"time": now_s(), "self_id": self.a.self_id}

    def lifecycle(self):
        e = self._event_base()
        e.update(post_type="meta_event", meta_event_type="lifecycle", sub_type="connect")
        return e

    def heartbeat(self):
        e = self._event_base()
        e.update(post_type="meta_event", meta_event_type="heartbeat",
                 status={"online": True, "good": True}, interval=self.a.heartbeat_ms)
        return e

    def group_message(self, req: Req, text: str):
        raw = cq_escape(text)
        msg = [{"type": "text", "data": {"text": text}}] if self.a.format == "array" else raw
        e = self._event_base()
        e.update(post_type="message", message_type="group", sub_type="normal",
                 message_id=req.message_id, group_id=req.group_id, user_id=req.user_id,
                 anonymous=None, message=msg, raw_message=raw, font=0,
                 sender={"user_id": req.user_id, "nickname": f"user{req.user_id}", "card": "",
                         "sex": "unknown", "age": 0, "area": "", "level": "1",
                         "role": "member", "title": ""})
        return e

    def make_req(self, idx: int, warm: bool):
        self.next_msg_id += 1
        if warm:
            group = self.warm_group
        else:
            group = self.groups[self.rng.randrange(len(self.groups))]
        user = self.users[self.rng.randrange(len(self.users))]
        token = None
        if self.a.scenario == "echo":
            token = "h%sn%d" % (self.tag, idx if not warm else 10_000_000 + idx)
            text = "/echo " + token
        else:
            text = self.a.faq_prefix + FAQ_QUESTIONS[self.rng.randrange(len(FAQ_QUESTIONS))]
        return Req(idx, self.next_msg_id, group, user, token, warm), text

    async def send_req(self, req: Req, text: str):
        ev = self.group_message(req, text)
        if len(self.msg_store) < 200_000:
            self.msg_store[req.message_id] = ev
        data = json.dumps(ev, ensure_ascii=False)
        if req.token:
            self.by_token[req.token] = req
        self.by_msgid[str(req.message_id)] = req
        self.by_group.setdefault(req.group_id, deque()).append(req)
        req.t_send = time.perf_counter()
        self.inflight.append(req)
        await self.ws.send(data)
        if not req.warm:
            self.c["sent"] += 1
            if self.t_first_send is None:
                self.t_first_send = req.t_send
            self.t_last_send = req.t_send

    def _finish(self, req: Req):
        req.done = True
        if req.token:
            self.by_token.pop(req.token, None)
        self.by_msgid.pop(str(req.message_id), None)
        self.window.release()

    # -- matching
    def match_reply(self, params: dict, base_action: str):
        text, reply_id = extract_message(params.get("message"), bool(params.get("auto_escape")))
        gid = params.get("group_id")
        mtype = params.get("message_type") or ("group" if gid is not None else "private")
        req = None
        if self.a.scenario == "echo":
            m = self.token_re.search(text)
            if m:
                req = self.by_token.get(m.group(0))
                if req is None:
                    self.c["late_or_duplicate_replies"] += 1
                    return
        else:
            if reply_id is not None:
                req = self.by_msgid.get(reply_id)
            if req is None and mtype == "group" and gid is not None:
                q = self.by_group.get(int(gid))
                while q and q[0].done:
                    q.popleft()
                if q:
                    req = q.popleft()
        if req is None or req.done:
            self.c["unmatched_replies"] += 1
            return
        if mtype != "group" or gid is None or int(gid) != req.group_id:
            self.c["wrong_target_replies"] += 1
        if not text.strip():
            self.c["empty_replies"] += 1
        t = time.perf_counter()
        self._finish(req)
        if req.warm:
            self.c["warm_replied"] += 1
            return
        self.c["replied"] += 1
        self.lat_ms.append((t - req.t_send) * 1000.0)
        self.t_last_reply = t

    # -- action answering
    def answer(self, action: str, params: dict):
        base = action
        status, retcode = "ok", 0
        for suf in ("_async", "_rate_limited"):
            if base.endswith(suf):
                base = base[: -len(suf)]
                status, retcode = "async", 1
        a = self.a
        if base in SEND_ACTIONS:
            self.match_reply(params, base)
            self.next_bot_msg_id += 1
            mid = self.next_bot_msg_id
            data = {"message_id": mid}
        elif base == "get_login_info":
            data = {"user_id": a.self_id, "nickname": "harness-bot"}
        elif base in ("get_group_member_info", "get_stranger_info"):
            uid = int(params.get("user_id", 0) or 0)
            data = {"user_id": uid, "nickname": f"user{uid}", "sex": "unknown", "age": 0}
            if base == "get_group_member_info":
                data.update(group_id=int(params.get("group_id", 0) or 0), card="", area="",
                            join_time=now_s() - 86400, last_sent_time=now_s(), level="1",
                            role="owner" if uid == a.self_id else "member", unfriendly=False,
                            title="", title_expire_time=0, card_changeable=True)
        elif base == "get_group_member_list":
            gid = int(params.get("group_id", 0) or 0)
            data = [{"group_id": gid, "user_id": u, "nickname": f"user{u}", "card": "",
                     "sex": "unknown", "age": 0, "area": "", "join_time": 0,
                     "last_sent_time": 0, "level": "1", "role": "member", "unfriendly": False,
                     "title": "", "title_expire_time": 0, "card_changeable": True}
                    for u in self.users[:50]]
        elif base == "get_group_info":
            gid = int(params.get("group_id", 0) or 0)
            data = {"group_id": gid, "group_name": f"group{gid}",
                    "member_count": len(self.users), "max_member_count": 2000}
        elif base == "get_group_list":
            data = [{"group_id": g, "group_name": f"group{g}", "member_count": len(self.users),
                     "max_member_count": 2000} for g in self.groups]
        elif base == "get_friend_list":
            data = []
        elif base == "get_msg":
            ev = self.msg_store.get(int(params.get("message_id", 0) or 0))
            if ev is None:
                return "failed", 1404, None
            data = {"time": ev["time"], "message_type": ev["message_type"],
                    "message_id": ev["message_id"], "real_id": ev["message_id"],
                    "sender": ev["sender"], "message": ev["message"]}
        elif base == "get_status":
            data = {"online": True, "good": True}
        elif base == "get_version_info":
            data = {"app_name": "onebot-harness-loadgen", "app_version": "0.1.0",
                    "protocol_version": "v11"}
        elif base in ("can_send_image", "can_send_record"):
            data = {"yes": True}
        else:
            data = None  # delete_msg, set_*, get_guild_service_profile, unknown ones
        if status == "async":
            data = None
        return status, retcode, data

    async def receiver(self):
        try:
            async for raw in self.ws:
                try:
                    obj = json.loads(raw)
                except (ValueError, TypeError):
                    self.c["bad_frames"] += 1
                    continue
                if not isinstance(obj, dict) or not isinstance(obj.get("action"), str):
                    self.c["bad_frames"] += 1
                    continue
                action = obj["action"]
                self.actions[action] += 1
                params = obj.get("params") or {}
                if not isinstance(params, dict):
                    params = {}
                status, retcode, data = self.answer(action, params)
                resp = {"status": status, "retcode": retcode, "data": data}
                if "echo" in obj:
                    resp["echo"] = obj["echo"]
                await self.ws.send(json.dumps(resp, ensure_ascii=False))
        except Exception as e:  # connection closed or similar
            if not self.closed.is_set():
                self.c["connection_errors"] += 1
                self.close_reason = repr(e)
        finally:
            self.closed.set()

    async def heartbeats(self, stop: asyncio.Event):
        if self.a.heartbeat_ms <= 0:
            return
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.a.heartbeat_ms / 1000)
            except asyncio.TimeoutError:
                try:
                    await self.ws.send(json.dumps(self.heartbeat()))
                except Exception:
                    return

    async def reaper(self, stop: asyncio.Event):
        to = self.a.timeout
        while not stop.is_set():
            t = time.perf_counter()
            while self.inflight and (self.inflight[0].done or t - self.inflight[0].t_send > to):
                r = self.inflight.popleft()
                if not r.done:
                    self._finish(r)
                    self.c["warm_timeouts" if r.warm else "timeouts"] += 1
            try:
                await asyncio.wait_for(stop.wait(), 0.05)
            except asyncio.TimeoutError:
                pass

    async def wait_drained(self, deadline: float):
        while time.perf_counter() < deadline and not self.closed.is_set():
            if not any(not r.done for r in self.inflight):
                return True
            await asyncio.sleep(0.01)
        return not any(not r.done for r in self.inflight)

    async def connect(self):
        a = self.a
        headers = {"X-Self-ID": str(a.self_id), "X-Client-Role": "Universal",
                   "User-Agent": "onebot-harness-loadgen/0.1"}
        if a.token:
            headers["Authorization"] = "Bearer " + a.token
        kw = dict(compression=None, max_size=None, ping_interval=None, open_timeout=5)
        kw["additional_headers" if _NEW_API else "extra_headers"] = headers
        deadline = time.monotonic() + a.connect_timeout
        last = None
        while time.monotonic() < deadline:
            try:
                return await ws_connect(a.url, **kw)
            except Exception as e:  # not up yet, or refused
                status = getattr(getattr(e, "response", None), "status_code", None)
                if status is not None:  # the server answered the handshake: don't retry
                    raise SystemExit(f"loadgen: handshake to {a.url} refused with HTTP {status}"
                                     " (wrong path, X-Self-ID or token?)")
                last = e
                await asyncio.sleep(0.25)
        raise SystemExit(f"loadgen: could not connect to {a.url}: {last!r}")

    async def run(self):
        a = self.a
        self.close_reason = None
        self.ws = await self.connect()
        try:
            await self.ws.send(json.dumps(self.lifecycle()))
        except Exception:
            raise SystemExit(f"loadgen: bot closed the connection at once: {self.ws.close_code} "
                             f"{self.ws.close_reason!r} (wrong path, X-Self-ID or token?)")
        stop = asyncio.Event()
        rx = asyncio.create_task(self.receiver())
        bg = [asyncio.create_task(self.heartbeats(stop)), asyncio.create_task(self.reaper(stop))]
        sampler = ProcSampler(a.pid) if a.pid else None
        if sampler:
            bg.append(asyncio.create_task(sampler.run(stop)))
        result = {}
        try:
            # readiness: one probe at a time until the bot answers one
            ready_deadline = time.perf_counter() + a.ready_timeout
            ready = False
            idx = 0
            try:
                while time.perf_counter() < ready_deadline and not self.closed.is_set():
                    await self.window.acquire()
                    req, text = self.make_req(idx, warm=True)
                    idx += 1
                    await self.send_req(req, text)
                    t_probe = time.perf_counter()
                    while (time.perf_counter() - t_probe < 1.0 and not req.done
                           and not self.closed.is_set()):
                        await asyncio.sleep(0.01)
                    if req.done and self.c["warm_replied"] > 0:
                        ready = True
                        break
                # warm-up batch (not measured)
                for _ in range(a.warmup if ready else 0):
                    await self.window.acquire()
                    req, text = self.make_req(idx, warm=True)
                    idx += 1
                    await self.send_req(req, text)
            except Exception as e:  # connection closed by the bot
                raise SystemExit(f"loadgen: connection lost before measuring: {e!r}")
            if not ready:
                why = self.close_reason or (
                    f"closed: {self.ws.close_code} {self.ws.close_reason!r}"
                    if self.closed.is_set() else "no reply")
                raise SystemExit("loadgen: bot never answered a probe (plugin loaded? path, "
                                 f"X-Self-ID, token right?): {why}")
            await self.wait_drained(time.perf_counter() + a.timeout + 1)
            # measured phase
            self.measuring = True
            cpu0_self = resource.getrusage(resource.RUSAGE_SELF)
            if sampler:
                sampler.mark_cpu()
            t0 = time.perf_counter()
            send_deadline = t0 + a.max_seconds
            for i in range(a.n):
                if self.closed.is_set():
                    break
                if a.rate > 0:
                    due = t0 + i / a.rate
                    d = due - time.perf_counter()
                    if d > 0:
                        await asyncio.sleep(d)
                await self.window.acquire()
                if time.perf_counter() > send_deadline:
                    self.window.release()
                    self.c["not_sent_time_cap"] = a.n - i
                    break
                req, text = self.make_req(i, warm=False)
                try:
                    await self.send_req(req, text)
                except Exception:
                    self.c["send_errors"] += 1
                    break
            await self.wait_drained(time.perf_counter() + a.timeout + 0.5)
            t_end = time.perf_counter()
            cpu1_self = resource.getrusage(resource.RUSAGE_SELF)
            bot_cpu = sampler.cpu_since_mark() if sampler else None
        finally:
            stop.set()
            self.closed.set()
            try:
                await self.ws.close()
            except Exception:
                pass
            await asyncio.gather(*bg, return_exceptions=True)
            rx.cancel()
            await asyncio.gather(rx, return_exceptions=True)

        lat = sorted(self.lat_ms)

        def pct(p):
            if not lat:
                return None
            k = min(len(lat) - 1, max(0, int(round(p / 100.0 * len(lat) + 0.5)) - 1))
            return round(lat[k], 2)

        sent, replied = self.c["sent"], self.c["replied"]
        span = ((self.t_last_reply or t_end) - self.t_first_send) if self.t_first_send else 0
        send_span = (self.t_last_send - self.t_first_send) if self.t_first_send else 0
        # anything still pending at the end counts as a timeout
        pending = sum(1 for r in self.inflight if not r.done and not r.warm)
        errors = (self.c["timeouts"] + pending + self.c["unmatched_replies"]
                  + self.c["late_or_duplicate_replies"] + self.c["send_errors"]
                  + self.c["connection_errors"] + self.c["bad_frames"]
                  + self.c["wrong_target_replies"])
        result = {
            "scenario": a.scenario, "url": a.url, "n": a.n, "window": a.window,
            "rate_target": a.rate or None, "users": a.users, "groups": a.groups,
            "format": a.format,
            "sent": sent, "replied": replied,
            "throughput_rps": round(replied / span, 1) if span > 0 else None,
            "send_rate_mps": round(sent / send_span, 1) if send_span > 0 else None,
            "duration_s": round(span, 3),
            "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99),
                           "max": round(lat[-1], 2) if lat else None,
                           "mean": round(sum(lat) / len(lat), 2) if lat else None},
            "errors": errors,
            "error_detail": {k: v for k, v in {
                "timeouts": self.c["timeouts"] + pending,
                "unmatched_replies": self.c["unmatched_replies"],
                "late_or_duplicate_replies": self.c["late_or_duplicate_replies"],
                "wrong_target_replies": self.c["wrong_target_replies"],
                "empty_replies": self.c["empty_replies"],
                "send_errors": self.c["send_errors"],
                "connection_errors": self.c["connection_errors"],
                "bad_frames": self.c["bad_frames"],
                "not_sent_time_cap": self.c["not_sent_time_cap"],
                "warmup_timeouts": self.c["warm_timeouts"],
            }.items() if v},
            "actions": dict(self.actions),
            "loadgen_cpu_s": round((cpu1_self.ru_utime + cpu1_self.ru_stime)
                                   - (cpu0_self.ru_utime + cpu0_self.ru_stime), 2),
        }
        if self.close_reason:
            result["close_reason"] = self.close_reason
        if sampler:
            result["peer"] = sampler.result()
            result["peer"]["cpu_s"] = round(bot_cpu, 2) if bot_cpu is not None else None
        return result


def print_summary(r, out=sys.stderr):
    L = r["latency_ms"]
    print(f"scenario={r['scenario']} sent={r['sent']} replied={r['replied']} "
          f"errors={r['errors']} {r['error_detail'] or ''}", file=out)
    print(f"throughput={r['throughput_rps']} replies/s (send rate {r['send_rate_mps']}/s, "
          f"{r['duration_s']} s)  latency ms p50={L['p50']} p90={L['p90']} p99={L['p99']} "
          f"max={L['max']}", file=out)
    if "peer" in r:
        p = r["peer"]
        print(f"peer pid={p['pid']} rss_hwm={p['rss_hwm_mb']} MiB tree_peak={p['tree_rss_peak_mb']}"
              f" MiB cpu={p['cpu_s']} s; loadgen cpu={r['loadgen_cpu_s']} s", file=out)
    print(f"actions={r['actions']}", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--url", default="ws://127.0.0.1:8080/onebot/v11/ws",
                   help="bot's reverse-WebSocket endpoint")
    p.add_argument("--scenario", choices=["echo", "faq"], default="echo")
    p.add_argument("-n", type=int, default=5000, help="measured messages")
    p.add_argument("--faq-prefix", default="",
                   help="text put before each faq question, e.g. '/问 ' for a bot that answers FAQ only as a command")
    p.add_argument("--window", type=int, default=64, help="max messages awaiting a reply")
    p.add_argument("--rate", type=float, default=0,
                   help="target messages/s (0 = as fast as the window allows)")
    p.add_argument("--users", type=int, default=200, help="distinct senders (M)")
    p.add_argument("--groups", type=int, default=20, help="distinct groups (G)")
    p.add_argument("--self-id", type=int, default=10001000, help="X-Self-ID / self_id")
    p.add_argument("--user-base", type=int, default=300001)
    p.add_argument("--group-base", type=int, default=200001)
    p.add_argument("--token", default=os.environ.get("ONEBOT_ACCESS_TOKEN", ""),
                   help="access token, sent as Authorization: Bearer")
    p.add_argument("--format", choices=["array", "string"], default="array",
                   help="message format in events (segment array or CQ string)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured messages after the probe")
    p.add_argument("--timeout", type=float, default=10.0, help="per-message reply timeout, s")
    p.add_argument("--max-seconds", type=float, default=60.0, help="cap on the sending phase")
    p.add_argument("--connect-timeout", type=float, default=30.0,
                   help="keep retrying the connection this long (peer still starting)")
    p.add_argument("--ready-timeout", type=float, default=20.0,
                   help="keep probing this long until the bot answers")
    p.add_argument("--heartbeat-ms", type=int, default=5000, help="0 disables heartbeats")
    p.add_argument("--pid", type=int, default=0, help="peer process to sample (RSS, CPU)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", dest="json_out", help="write the result object here")
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.window < 1 or a.n < 1:
        p.error("-n and --window must be >= 1")
    r = asyncio.run(LoadGen(a).run())
    if not a.quiet:
        print_summary(r)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(r, f, ensure_ascii=False, indent=1)
    print(json.dumps(r, ensure_ascii=False))
    return 0 if r["replied"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
