"""ansible.builtin.uri (action plugin and module), and uri_fetch: fetch_url for the ports.

uri_fetch is ansible.module_utils.urls.fetch_url/open_url on urllib, with its
handlers (unix socket, basic/digest auth, netrc, proxy switch, TLS context,
Ansible's redirect policies, cookies, gzip decoding) and its `info` dict
(lower-cased response headers, cookies, `msg` "OK (N bytes)", `status`, the
error body for HTTP errors). get_url and authorized_key use it too.

The action plugin's part: a `src` is the file the converter staged on the
node; check mode skips the task, as the plugin does.
"""

import base64
import datetime
import email.encoders
import email.mime.application
import email.mime.multipart
import email.mime.nonmultipart
import email.parser
import email.policy
import gzip
import http.client
import http.cookiejar
import json
import mimetypes
import netrc
import os
import re
import shutil
import socket
import ssl
import tempfile
import traceback
import urllib.error
import urllib.parse
import urllib.request

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    COMMON_URL_SPEC, common_atomic_move, common_digest, common_file_args, common_path_info,  # tm:strip
    common_set_fs_attributes, common_validate)  # tm:strip

_URI_SPEC = dict(
    COMMON_URL_SPEC,
    url={"type": "str", "required": True},
    follow_redirects={"type": "str", "default": "safe",
                      "choices": ["all", "no", "none", "safe", "urllib2", "yes"]},
    dest={"type": "path"},
    url_username={"type": "str", "aliases": ["user"]},
    url_password={"type": "str", "aliases": ["password"]},
    body={"type": "raw"},
    body_format={"type": "str", "default": "raw",
                 "choices": ["form-urlencoded", "json", "raw", "form-multipart"]},
    src={"type": "path"},
    method={"type": "str", "default": "GET"},
    return_content={"type": "bool", "default": False},
    creates={"type": "path"},
    removes={"type": "path"},
    status_code={"type": "list", "elements": "int", "default": [200]},
    timeout={"type": "int", "default": 30},
    headers={"type": "dict", "default": {}},
    unix_socket={"type": "path"},
    remote_src={"type": "bool", "default": False},
    ca_path={"type": "path"},
    unredirected_headers={"type": "list", "elements": "str", "default": []},
    decompress={"type": "bool", "default": True},
    ciphers={"type": "list", "elements": "str"},
    use_netrc={"type": "bool", "default": True},
)

_URI_JSON_CANDIDATES = {"json", "javascript"}


# ---------------------------------------------------------------------------
# fetch_url


class _UriUnixConnection(http.client.HTTPConnection):
    def __init__(self, unix_socket):
        self._unix_socket = unix_socket

    def __call__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        return self

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(self._unix_socket)
        except OSError as ex:
            raise OSError("Invalid Socket File (%s): %s" % (self._unix_socket, ex)) from None
        if self.timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
            self.sock.settimeout(self.timeout)


class _UriUnixHandler(urllib.request.HTTPHandler):
    def __init__(self, unix_socket, **kwargs):
        super().__init__(**kwargs)
        self._unix_socket = unix_socket

    def http_open(self, req):
        return self.do_open(_UriUnixConnection(self._unix_socket), req)


class _UriRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Ansible's HTTPRedirectHandler: follow_redirects decides."""

    def __init__(self, follow_redirects=None):
        super().__init__()
        self.follow_redirects = follow_redirects

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        follow = self.follow_redirects
        if follow in ("urllib2", "urllib"):
            return urllib.request.HTTPRedirectHandler.redirect_request(
                self, req, fp, code, msg, headers, newurl)
        if follow in ("no", "none", False):
            raise urllib.error.HTTPError(newurl, code, msg, headers, fp)
        method = req.get_method()
        if follow in ("all", "yes", True):
            if code < 300 or code >= 400:
                raise urllib.error.HTTPError(req.get_full_url(), code, msg, headers, fp)
        elif follow == "safe":
            if code < 300 or code >= 400 or method not in ("GET", "HEAD"):
                raise urllib.error.HTTPError(req.get_full_url(), code, msg, headers, fp)
        else:
            raise urllib.error.HTTPError(req.get_full_url(), code, msg, headers, fp)
        data = req.data
        newurl = newurl.replace(" ", "%20")
        if code in (307, 308):
            req_headers = req.headers
        else:
            data = None
            req_headers = {k: v for k, v in req.headers.items()
                           if k.lower() not in ("content-length", "content-type",
                                                "transfer-encoding")}
            if code in (302, 303) and method != "HEAD":
                method = "GET"
            if code == 301 and method == "POST":
                method = "GET"
        return urllib.request.Request(newurl, data=data, headers=req_headers,
                                      origin_req_host=req.origin_req_host, unverifiable=True,
                                      method=method)

    http_error_308 = urllib.request.HTTPRedirectHandler.http_error_302


def uri_mask_url(url):
    parsed = urllib.parse.urlparse(url)
    if not parsed.username and not parsed.password:
        return url
    if parsed.password:
        netloc = parsed.netloc.replace("%s:%s@" % (parsed.username, parsed.password),
                                       "****:****@")
    else:
        netloc = parsed.netloc.replace("%s@" % parsed.username, "****@")
    return urllib.parse.urlunparse(parsed._replace(netloc=netloc))


def _uri_basic_auth(username, password):
    return b"Basic %s" % base64.b64encode(
        ("%s:%s" % (username, password or "")).encode("utf-8", "surrogateescape"))


def _uri_auth(url, username, password, force_basic_auth, use_netrc):
    """_configure_auth: (url without credentials, headers, handlers)."""
    headers, handlers = {}, []
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "ftp":
        return url, headers, handlers
    netloc = parsed.netloc
    if not username and "@" in parsed.netloc:
        credentials, netloc = parsed.netloc.split("@", 1)
        username, _, password = credentials.partition(":")
        username, password = urllib.parse.unquote(username), urllib.parse.unquote(password)
        url = urllib.parse.urlunparse(parsed._replace(netloc=netloc))
    if username and not force_basic_auth:
        passman = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passman.add_password(None, netloc, username, password)
        handlers += [urllib.request.HTTPBasicAuthHandler(passman),
                     urllib.request.HTTPDigestAuthHandler(passman)]
    elif username and force_basic_auth:
        headers["Authorization"] = _uri_basic_auth(username, password)
    elif use_netrc:
        try:
            login = netrc.netrc(os.environ.get("NETRC")).authenticators(parsed.hostname)
        except (OSError, netrc.NetrcParseError):
            login = None
        if login and login[0] and login[2]:
            headers["Authorization"] = _uri_basic_auth(login[0], login[2])
    return url, headers, handlers


def _uri_context(params, ca_path, ciphers):
    context = ssl.create_default_context(cafile=ca_path)
    if not params.get("validate_certs", True):
        context.options |= ssl.OP_NO_SSLv3
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if ciphers:
        context.set_ciphers(":".join(ciphers))
    if params.get("client_cert"):
        context.post_handshake_auth = True
        context.load_cert_chain(params["client_cert"], keyfile=params.get("client_key"))
    return context


def _uri_open(params, url, data, headers, method, use_proxy, force, last_mod_time, timeout,
              unix_socket, ca_path, cookies, unredirected_headers, decompress, ciphers,
              use_netrc):
    """Request.open."""
    if params.get("use_gssapi"):
        raise ModuleFailed("use_gssapi=true is not supported by the TASK runtime")
    headers = dict(headers or {})
    handlers = []
    if unix_socket:
        handlers.append(_UriUnixHandler(unix_socket))
    url, auth_headers, auth_handlers = _uri_auth(
        url, params.get("url_username"), params.get("url_password"),
        params.get("force_basic_auth"), use_netrc)
    headers.update(auth_headers)
    handlers.extend(auth_handlers)
    if not use_proxy:
        handlers.append(urllib.request.ProxyHandler({}))
    handlers.append(urllib.request.HTTPSHandler(context=_uri_context(params, ca_path, ciphers)))
    handlers.append(_UriRedirectHandler(params.get("follow_redirects", "urllib2")))
    handlers.append(urllib.request.HTTPCookieProcessor(cookies))
    opener = urllib.request.build_opener(*handlers)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    method = method or ("POST" if data else "GET")
    request = urllib.request.Request(url, data=data, method=method.upper())
    http_agent = params.get("http_agent", "ansible-httpget")
    if http_agent:
        request.add_header("User-agent", http_agent)
    if force:
        request.add_header("cache-control", "no-cache")
    elif last_mod_time:
        request.add_header("If-Modified-Since", _uri_rfc2822(last_mod_time.timetuple()))
    unredirected = [h.lower() for h in (unredirected_headers or [])]
    for header, value in headers.items():
        if header.lower() in unredirected:
            request.add_unredirected_header(header, value)
        else:
            request.add_header(header, value)
    response = opener.open(request, None, timeout)
    if decompress and response.headers.get("content-encoding", "").lower() == "gzip":
        response.fp = gzip.GzipFile(mode="rb", fileobj=response.fp)
        response.length = None
    return response


def _uri_rfc2822(timetuple):
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][timetuple[6]], timetuple[2],
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
         "Dec"][timetuple[1] - 1], timetuple[0], timetuple[3], timetuple[4], timetuple[5])


def uri_fetch(params, url, data=None, headers=None, method=None, use_proxy=None, force=False,
              last_mod_time=None, timeout=10, unix_socket=None, ca_path=None, cookies=None,
              unredirected_headers=None, decompress=True, ciphers=None, use_netrc=True):
    """fetch_url: (response or None, info). params are the module's (validate_certs, ...)."""
    if use_proxy is None:
        use_proxy = params.get("use_proxy", True)
    if not isinstance(cookies, http.cookiejar.CookieJar):
        cookies = http.cookiejar.CookieJar()
    response = None
    info = {"url": uri_mask_url(url), "status": -1}
    try:
        response = _uri_open(params, url, data, headers, method, use_proxy, force,
                             last_mod_time, timeout, unix_socket, ca_path, cookies,
                             unredirected_headers, decompress, ciphers, use_netrc)
        info.update({k.lower(): v for k, v in response.info().items()})
        merged = {}
        for name, value in response.headers.items():
            name = name.lower()
            merged[name] = ", ".join((merged[name], value)) if name in merged else value
        info.update(merged)
        pairs = [(cookie.name, cookie.value) for cookie in cookies]
        info["cookies_string"] = "; ".join("%s=%s" % pair for pair in pairs)
        info["cookies"] = dict(pairs)
        info.update(msg="OK (%s bytes)" % response.headers.get("Content-Length", "unknown"),
                    url=uri_mask_url(response.geturl()), status=response.code)
    except (ConnectionError, ValueError) as ex:
        raise ModuleFailed(str(ex), **{k: v for k, v in info.items() if k != "msg"}) from None
    except urllib.error.HTTPError as ex:
        response = ex
        try:
            if ex.fp is None:
                raise AttributeError
            body = ex.read()
        except AttributeError:
            body = ""
        else:
            ex.close()
        try:
            info.update({k.lower(): v for k, v in ex.info().items()})
        except Exception:
            pass
        info.update({"msg": str(ex), "body": body, "status": ex.code})
    except urllib.error.URLError as ex:
        info.update(msg="Request failed: %s" % ex, status=int(getattr(ex, "code", -1)))
    except OSError as ex:
        info.update(msg="Connection failure: %s" % ex, status=-1)
    except http.client.BadStatusLine as ex:
        info.update(msg="Connection failure: connection was closed before a valid response "
                        "was received: %s" % ex.line, status=-1)
    except Exception as ex:
        info.update(msg="An unknown error occurred: %s" % ex, status=-1,
                    exception=traceback.format_exc())
    return response, info


def uri_sha1(path):
    return common_digest(path, "sha1") if os.path.exists(path) else None


# ---------------------------------------------------------------------------
# the module


def _uri_form_urlencoded(body):
    if isinstance(body, str):
        return body
    if isinstance(body, (dict, list, tuple)):
        pairs = list(body.items()) if isinstance(body, dict) else list(body)
        result = []
        for key, values in pairs:
            if isinstance(values, str) or not isinstance(values, (dict, list, tuple)):
                values = [values]
            for value in values:
                if value is not None:
                    result.append((str(key), str(value)))
        return urllib.parse.urlencode(result, doseq=True)
    return body


def _uri_multipart(fields):
    """prepare_multipart: (content type with boundary, body bytes)."""
    if not isinstance(fields, dict):
        raise TypeError("Mapping is required, cannot be type %s" % type(fields).__name__)
    message = email.mime.multipart.MIMEMultipart("form-data")
    for field, value in sorted(fields.items()):
        if isinstance(value, str):
            main_type, sub_type, content, filename = "text", "plain", value, None
        elif isinstance(value, dict):
            filename = value.get("filename")
            encoding = value.get("multipart_encoding") or "base64"
            content = value.get("content")
            if not any((filename, content)):
                raise ValueError("at least one of filename or content must be provided")
            mime = value.get("mime_type") or mimetypes.guess_type(
                filename or "", strict=False)[0] or "application/octet-stream"
            main_type, _, sub_type = mime.partition("/")
        else:
            raise TypeError("value must be a string, or mapping, cannot be type %s"
                            % type(value).__name__)
        if not content and filename:
            encoders = {"base64": email.encoders.encode_base64,
                        "7or8bit": email.encoders.encode_7or8bit}
            if encoding not in encoders:
                raise ValueError("multipart_encoding must be one of %s." % repr(encoders.keys()))
            with open(filename, "rb") as stream:
                part = email.mime.application.MIMEApplication(stream.read(),
                                                               _encoder=encoders[encoding])
            del part["Content-Type"]
            part.add_header("Content-Type", "%s/%s" % (main_type, sub_type))
        else:
            part = email.mime.nonmultipart.MIMENonMultipart(main_type, sub_type)
            part.set_payload(content.encode("utf-8", "surrogateescape")
                             if isinstance(content, str) else content)
        part.add_header("Content-Disposition", "form-data")
        del part["MIME-Version"]
        part.set_param("name", field, header="Content-Disposition")
        if filename:
            part.set_param("filename", os.path.basename(filename), header="Content-Disposition")
        message.attach(part)
    data = message.as_bytes(policy=email.policy.HTTP)
    head, _, content = data.partition(b"\r\n\r\n")
    return email.parser.BytesHeaderParser().parsebytes(head)["content-type"], content


def _uri_write(dest, content, resp, ctx):
    """write_file: a temporary copy, moved over dest when its checksum differs."""
    tmpsrc = None
    try:
        fd, tmpsrc = tempfile.mkstemp()
        with os.fdopen(fd, "wb") as stream:
            if isinstance(content, bytes):
                stream.write(content)
            else:
                shutil.copyfileobj(content, stream)
    except Exception as ex:
        if tmpsrc and os.path.exists(tmpsrc):
            os.remove(tmpsrc)
        raise ModuleFailed(_uri_message("Failed to create temporary content file: %s" % ex,
                                        resp), **resp) from None
    if uri_sha1(tmpsrc) != uri_sha1(dest):
        try:
            common_atomic_move(tmpsrc, dest, ctx)
        except Exception as ex:
            if os.path.exists(tmpsrc):
                os.remove(tmpsrc)
            raise ModuleFailed(_uri_message("failed to copy %s to %s: %s" % (tmpsrc, dest, ex),
                                            resp), **resp) from None
    if os.path.exists(tmpsrc):
        os.remove(tmpsrc)


def _uri_message(err, resp):
    msg = resp.pop("msg")
    return err + (" %s" % msg if msg else "")


def _uri_response_filename(response):
    filename = response.headers.get_param("filename", header="content-disposition")
    if filename:
        return os.path.basename(filename)
    path = urllib.parse.urlparse(response.geturl())[2]
    filename = os.path.basename(path.rstrip("/")) or None
    return urllib.parse.unquote(filename) if filename else filename


def _uri_content_type(response):
    content_type = (response.headers.get_content_type() or "application/octet-stream").split(
        ",")[0]
    main_type, sub_type = content_type.split("/")
    charset = (response.headers.get_param("charset") or "utf-8").split(",")[0]
    return content_type, main_type, sub_type, charset


@module("ansible.builtin.uri", "ansible.legacy.uri")
def uri_module(params, ctx):
    if ctx.check_mode:
        return {"changed": False, "skipped": True,
                "msg": "This action (ansible.builtin.uri) does not support check mode."}
    p = common_validate("ansible.legacy.uri", params, _URI_SPEC, ctx, file_common=True,
                        mutually_exclusive=[["body", "src"]])
    url, body, dest = p["url"], p["body"], p["dest"]
    body_format, method = p["body_format"].lower(), p["method"].upper()
    status_code = [int(x) for x in p["status_code"]]
    headers = dict(p["headers"] or {})
    masked_url = uri_mask_url(url)
    if not re.match("^[A-Z]+$", method):
        raise ModuleFailed("Parameter 'method' needs to be a single word in uppercase, like GET "
                           "or POST.")
    if body_format == "json":
        if not isinstance(body, str):
            body = json.dumps(body)
        if "content-type" not in [h.lower() for h in headers]:
            headers["Content-Type"] = "application/json"
    elif body_format == "form-urlencoded":
        if not isinstance(body, str):
            try:
                body = _uri_form_urlencoded(body)
            except ValueError as ex:
                raise ModuleFailed("failed to parse body as form_urlencoded: %s" % ex,
                                   elapsed=0) from None
        if "content-type" not in [h.lower() for h in headers]:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body_format == "form-multipart":
        try:
            content_type, body = _uri_multipart(body)
        except (TypeError, ValueError) as ex:
            raise ModuleFailed("failed to parse body as form-multipart: %s" % ex) from None
        headers["Content-Type"] = content_type
    if p["creates"] is not None and os.path.exists(p["creates"]):
        return {"changed": False, "stdout": "skipped, since '%s' exists" % p["creates"]}
    if p["removes"] is not None and not os.path.exists(p["removes"]):
        return {"changed": False, "stdout": "skipped, since '%s' does not exist" % p["removes"]}
    if p["follow_redirects"] in ("no", "yes"):
        ctx.warn("Using 'yes' or 'no' for 'follow_redirects' parameter is deprecated.")

    start = datetime.datetime.now(datetime.timezone.utc)
    data = body
    if p["src"]:
        try:
            headers["Content-Length"] = os.stat(p["src"]).st_size
            data = open(p["src"], "rb")
        except OSError:
            raise ModuleFailed("Unable to open source file %s" % p["src"], elapsed=0) from None
    last_mod_time = None
    if dest is not None and os.path.isfile(dest):
        last_mod_time = datetime.datetime.fromtimestamp(os.path.getmtime(dest),
                                                        tz=datetime.timezone.utc)
    try:
        r, info = uri_fetch(p, url, data=data, headers=headers, method=method,
                            timeout=p["timeout"], unix_socket=p["unix_socket"],
                            ca_path=p["ca_path"], unredirected_headers=p["unredirected_headers"],
                            use_proxy=p["use_proxy"], decompress=p["decompress"],
                            ciphers=p["ciphers"], use_netrc=p["use_netrc"], force=p["force"],
                            last_mod_time=last_mod_time)
    finally:
        if p["src"] and hasattr(data, "close"):
            data.close()
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - start).seconds

    if r and dest is not None and os.path.isdir(dest):
        dest = os.path.join(dest, _uri_response_filename(r) or "index.html")
    if r and r.fp is not None:
        content_type, _, sub_type, content_encoding = _uri_content_type(r)
    else:
        content_type, sub_type, content_encoding = "application/octet-stream", "octet-stream", \
            "utf-8"
    if sub_type and "+" in sub_type:
        maybe_json = content_type and sub_type.partition("+")[2].lower() in _URI_JSON_CANDIDATES
    elif sub_type:
        maybe_json = content_type and sub_type.lower() in _URI_JSON_CANDIDATES
    else:
        maybe_json = False
    maybe_output = maybe_json or p["return_content"] or info["status"] not in status_code
    if maybe_output:
        try:
            if r.fp is None or r.closed:
                raise TypeError
            content = r.read()
        except (AttributeError, TypeError):
            content = info.pop("body", b"")
        except http.client.HTTPException as ex:
            raise ModuleFailed("HTTP Error while fetching %s: %s" % (masked_url, ex)) from None
    elif r:
        content = r
    else:
        content = None

    resp = {"redirected": info["url"] != masked_url}
    resp.update(info)
    resp["elapsed"] = elapsed
    resp["status"] = int(resp["status"])
    resp["changed"] = False
    if r and dest is not None:
        if resp["status"] in status_code and resp["status"] != 304:
            _uri_write(dest, content, resp, ctx)
            file_args = common_file_args(dict(p, path=dest), ctx, path=dest)
            resp["changed"] = common_set_fs_attributes(file_args, True, ctx)
        resp["path"] = dest
    uresp = {key.replace("-", "_").lower(): value for key, value in resp.items()}
    if "location" in uresp:
        uresp["location"] = urllib.parse.urljoin(masked_url, uresp["location"])
    if isinstance(content, bytes):
        u_content = content.decode(content_encoding, "surrogateescape")
        if maybe_json:
            try:
                uresp["json"] = json.loads(u_content)
            except Exception:
                pass
    else:
        u_content = None
    if isinstance(uresp.get("body"), bytes):
        uresp["body"] = uresp["body"].decode("utf-8", "surrogateescape")
    if resp["status"] not in status_code:
        uresp["msg"] = "Status code was %s and not %s: %s" % (resp["status"], status_code,
                                                              uresp.get("msg", ""))
        if p["return_content"]:
            uresp["content"] = u_content
        common_path_info(uresp, ctx)
        raise ModuleFailed(uresp.pop("msg"), **uresp)
    if p["return_content"]:
        uresp["content"] = u_content
    return common_path_info(uresp, ctx)
