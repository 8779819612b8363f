#!/usr/bin/env python3
"""WeChat's servers, played with wechatpy for zhibu's Official Account tests (tests/wechat_oa.rs).

Run it with `scripts/wechatpy python tests/peers/wechat_oa_peer.py COMMAND ...`.

  verify URL TOKEN                     the backend's URL check (GET with echostr)
  post URL TOKEN [options]             a follower's message or event, signed (and in safe mode
                                       encrypted) as WeChat does; the bot's answer parsed
  api PORT APPID SECRET                the customer-service API (api.weixin.qq.com) on
                                       127.0.0.1:PORT; prints one JSON line per message received

`verify` and `post` print one JSON object (a list with --copies) on stdout: the HTTP status,
the raw body, and for an XML reply what wechatpy reads from it.
"""
import argparse
import json
import random
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, check_signature


def sign(*parts):
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def nonce():
    return "".join(random.choice(string.digits) for _ in range(10))


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "text/xml")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def verify(args):
    ts, n = str(int(time.time())), nonce()
    echostr = "echo-" + nonce()
    signature = sign(args.token, ts, n)
    check_signature(args.token, signature, ts, n)  # what a WeChat SDK accepts, as a cross-check
    if args.bad_signature:
        signature = "0" * 40
    query = urllib.parse.urlencode({"signature": signature, "timestamp": ts, "nonce": n, "echostr": echostr})
    status, body = http("GET", f"{args.url}?{query}")
    print(json.dumps({"status": status, "body": body, "echoed": body == echostr}, ensure_ascii=False))


def message_xml(args, create_time):
    if args.event:
        return (f"<xml><ToUserName><![CDATA[{args.account}]]></ToUserName>"
                f"<FromUserName><![CDATA[{args.openid}]]></FromUserName>"
                f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[{args.event}]]></Event><EventKey><![CDATA[]]></EventKey></xml>")
    head = (f"<xml><ToUserName><![CDATA[{args.account}]]></ToUserName>"
            f"<FromUserName><![CDATA[{args.openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime>")
    if args.voice is not None:
        # WeChat adds <Recognition> when the account turned on speech recognition.
        recognition = f"<Recognition><![CDATA[{args.voice}]]></Recognition>" if args.voice else ""
        return (head + "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[media_1]]></MediaId>"
                f"<Format><![CDATA[amr]]></Format>{recognition}<MsgId>{args.msg_id}</MsgId></xml>")
    if args.image:
        return (head + "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl>"
                f"<MediaId><![CDATA[media_2]]></MediaId><MsgId>{args.msg_id}</MsgId></xml>")
    return (head + "<MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{args.text}]]></Content><MsgId>{args.msg_id}</MsgId></xml>")


def post_once(args, create_time):
    ts, n = str(int(time.time()) + args.timestamp_offset), nonce()
    plain = args.raw if args.raw is not None else message_xml(args, create_time)
    query = {"signature": sign(args.token, ts, n), "timestamp": ts, "nonce": n, "openid": args.openid}
    crypto = None
    if args.aes_key:
        crypto = WeChatCrypto(args.token, args.aes_key, args.app_id)
        # wechatpy builds the envelope WeChat sends: <Encrypt> signed into msg_signature.
        envelope = xmltodict.parse(crypto.encrypt_message(plain, n, ts))["xml"]
        body = f"<xml><ToUserName><![CDATA[{args.account}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
        query.update({"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]})
        if args.bad_signature:
            query["msg_signature"] = "0" * 40
    else:
        body = plain
    if args.bad_signature:
        query["signature"] = "0" * 40
    if args.no_signature:
        query.pop("signature")
    started = time.monotonic()
    status, text = http("POST", f"{args.url}?{urllib.parse.urlencode(query)}", body.encode("utf-8"))
    result = {"status": status, "body": text, "seconds": round(time.monotonic() - started, 3)}
    if status == 200 and text.startswith("<xml>"):
        if crypto is not None:
            reply = xmltodict.parse(text)["xml"]
            # The reply's own signature, checked by wechatpy: raises if wrong.
            decrypted = crypto.decrypt_message(text, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
            result["encrypted"] = True
            text = decrypted
        msg = parse_message(text)
        result.update({"type": msg.type, "content": getattr(msg, "content", None), "to": msg.target, "from": msg.source})
    return result


def post(args):
    create_time = int(time.time())
    if args.copies == 1:
        print(json.dumps(post_once(args, create_time), ensure_ascii=False))
        return
    # WeChat's retries: the same message again, each `gap` seconds after the previous one,
    # while the earlier requests may still be waiting.
    results = [None] * args.copies

    def one(i):
        results[i] = post_once(args, create_time)

    threads = []
    for i in range(args.copies):
        t = threading.Thread(target=one, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(args.gap)
    for t in threads:
        t.join()
    print(json.dumps(results, ensure_ascii=False))


def api(args):
    state = {"issued": 0, "token": None, "refused_once": False}
    lock = threading.Lock()

    def emit(record):
        with lock:
            print(json.dumps(record, ensure_ascii=False), flush=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, obj):
            data = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path != "/cgi-bin/token":
                return self.answer({"errcode": 40066, "errmsg": "invalid url"})
            if q != {"grant_type": "client_credential", "appid": args.app_id, "secret": args.secret}:
                emit({"kind": "bad-token-request", "query": q})
                return self.answer({"errcode": 40013, "errmsg": "invalid appid"})
            with lock:
                state["issued"] += 1
                state["token"] = f"TOKEN-{state['issued']}"
                token = state["token"]
            emit({"kind": "token", "token": token})
            self.answer({"access_token": token, "expires_in": 7200})

        def do_POST(self):
            url = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if url.path != "/cgi-bin/message/custom/send":
                return self.answer({"errcode": 40066, "errmsg": "invalid url"})
            with lock:
                current = state["token"]
                refuse = args.expire_first_token and not state["refused_once"] and q.get("access_token") == current
                if refuse:
                    state["refused_once"] = True
            if q.get("access_token") != current or refuse:
                emit({"kind": "refused", "token": q.get("access_token")})
                return self.answer({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
            try:
                msg = json.loads(body)
                ok = (set(msg) == {"touser", "msgtype", "text"} and msg["msgtype"] == "text"
                      and set(msg["text"]) == {"content"} and isinstance(msg["text"]["content"], str)
                      and self.headers.get("Content-Type", "").startswith("application/json"))
            except (ValueError, TypeError, KeyError):
                msg, ok = body.decode("utf-8", "replace"), False
            if not ok:
                emit({"kind": "malformed", "body": msg})
                return self.answer({"errcode": 40008, "errmsg": "invalid message type"})
            emit({"kind": "message", "token": current, "touser": msg["touser"], "content": msg["text"]["content"]})
            self.answer({"errcode": 0, "errmsg": "ok"})

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    emit({"kind": "listening", "port": server.server_address[1]})
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("url")
    v.add_argument("token")
    v.add_argument("--bad-signature", action="store_true")
    s = sub.add_parser("post")
    s.add_argument("url")
    s.add_argument("token")
    s.add_argument("--openid", default="o_follower_1")
    s.add_argument("--account", default="gh_zhibu_test")
    s.add_argument("--text", default="签到")
    s.add_argument("--msg-id", default=str(random.randrange(10**16, 10**17)))
    s.add_argument("--event", help="an event instead of a text message (subscribe, ...)")
    s.add_argument("--voice", metavar="RECOGNITION",
                   help="a voice message instead, with this speech recognition ('' for none)")
    s.add_argument("--image", action="store_true", help="an image message instead")
    s.add_argument("--raw", help="this XML as the (plaintext) message instead")
    s.add_argument("--aes-key", help="safe mode with this EncodingAESKey")
    s.add_argument("--app-id", default="wx0000000000000000")
    s.add_argument("--bad-signature", action="store_true")
    s.add_argument("--no-signature", action="store_true")
    s.add_argument("--timestamp-offset", type=int, default=0)
    s.add_argument("--copies", type=int, default=1)
    s.add_argument("--gap", type=float, default=0.3)
    a = sub.add_parser("api")
    a.add_argument("port", type=int)
    a.add_argument("app_id")
    a.add_argument("secret")
    a.add_argument("--expire-first-token", action="store_true",
                   help="answer 40001 to the first send with a token (as if it had expired)")
    args = p.parse_args()
    {"verify": verify, "post": post, "api": api}[args.cmd](args)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
