// AWS Signature Version 4, query-string form (a presigned URL), with Web Crypto. The console uses
// it for one thing: the `wss://{endpoint}/mqtt` URL of AWS IoT Core (service `iotdevicegateway`),
// where the session token is appended AFTER signing — IoT does not accept it inside the signature
// (docs/aws-iot-core.md section 7). The general form is kept so the AWS test-suite
// vectors (scripts/test-client) check every step: canonical request, string to sign, signature.
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});
    var ALGORITHM = "AWS4-HMAC-SHA256";

    function subtle() {
        if (!root.crypto || !root.crypto.subtle)
            throw new Error("Web Crypto is not available (the page must be served over https or from localhost)");
        return root.crypto.subtle;
    }

    function utf8(text) {
        return new TextEncoder().encode(text);
    }

    function hex(buffer) {
        var bytes = new Uint8Array(buffer);
        var out = "";
        for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
        return out;
    }

    function sha256Hex(text) {
        return subtle().digest("SHA-256", utf8(text)).then(hex);
    }

    function hmac(key, text) {
        var raw = typeof key === "string" ? utf8(key) : key;
        return subtle()
            .importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
            .then(function (k) {
                return subtle().sign("HMAC", k, utf8(text));
            })
            .then(function (sig) {
                return new Uint8Array(sig);
            });
    }

    // RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 requires
    // (encodeURIComponent leaves ! ' ( ) * alone).
    function uriEncode(text) {
        return encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
            return "%" + c.charCodeAt(0).toString(16).toUpperCase();
        });
    }

    // "20150830T123600Z" and "20150830".
    function amzDate(date) {
        var iso = date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
        return { full: iso, day: iso.slice(0, 8) };
    }

    // RFC 3986 section 5.2.4 dot-segment removal plus collapsing of empty segments: what SigV4 calls
    // URI normalization (every AWS service but S3).
    function normalizePath(path) {
        var out = [];
        var segments = path.split("/");
        for (var i = 0; i < segments.length; i++) {
            var s = segments[i];
            if (s === "" || s === ".") continue;
            if (s === "..") out.pop();
            else out.push(s);
        }
        var trailing = /\/\.{0,2}$/.test(path) && out.length > 0 ? "/" : "";
        return "/" + out.join("/") + trailing;
    }

    function canonicalPath(path, normalize) {
        var p = normalize ? normalizePath(path) : path;
        return p
            .split("/")
            .map(function (segment) {
                return uriEncode(segment);
            })
            .join("/");
    }

    // [[name, value], ...] (decoded) -> "a=1&b=2", sorted by encoded name then value.
    function canonicalQuery(pairs) {
        return pairs
            .map(function (p) {
                return [uriEncode(p[0]), uriEncode(p[1])];
            })
            .sort(function (a, b) {
                if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
                return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
            })
            .map(function (p) {
                return p[0] + "=" + p[1];
            })
            .join("&");
    }

    // headers: [[name, value], ...]; a repeated name joins its values with ",".
    function canonicalHeaders(headers) {
        var map = {};
        headers.forEach(function (h) {
            var name = h[0].toLowerCase();
            var value = String(h[1]).trim().replace(/\s+/g, " ");
            map[name] = name in map ? map[name] + "," + value : value;
        });
        var names = Object.keys(map).sort();
        return {
            text: names
                .map(function (n) {
                    return n + ":" + map[n] + "\n";
                })
                .join(""),
            signed: names.join(";"),
        };
    }

    function signingKey(secret, day, region, service) {
        return hmac("AWS4" + secret, day)
            .then(function (k) {
                return hmac(k, region);
            })
            .then(function (k) {
                return hmac(k, service);
            })
            .then(function (k) {
                return hmac(k, "aws4_request");
            });
    }

    // request: {method, path, query: [[name, value]], headers: [[name, value]] (host included),
    //           body: string, normalizePath: bool}
    // options: {region, service, credentials: {accessKeyId, secretAccessKey, sessionToken?},
    //           date: Date, expiresSeconds, signSessionToken: bool}
    // Resolves to {canonicalRequest, stringToSign, signature, query: [[name, value]]}: `query` is the
    // request's query plus the X-Amz-* parameters, the signature and (signed or appended) the token.
    function presign(request, options) {
        var creds = options.credentials;
        var d = amzDate(options.date);
        var scope = d.day + "/" + options.region + "/" + options.service + "/aws4_request";
        var headers = canonicalHeaders(request.headers);
        var auth = [
            ["X-Amz-Algorithm", ALGORITHM],
            ["X-Amz-Credential", creds.accessKeyId + "/" + scope],
            ["X-Amz-Date", d.full],
            ["X-Amz-SignedHeaders", headers.signed],
            ["X-Amz-Expires", String(options.expiresSeconds)],
        ];
        var token = creds.sessionToken ? [["X-Amz-Security-Token", creds.sessionToken]] : [];
        var signedQuery = request.query.concat(auth, options.signSessionToken ? token : []);
        var out = {};
        return sha256Hex(request.body || "")
            .then(function (payloadHash) {
                out.canonicalRequest = [
                    request.method,
                    canonicalPath(request.path, request.normalizePath !== false),
                    canonicalQuery(signedQuery),
                    headers.text,
                    headers.signed,
                    payloadHash,
                ].join("\n");
                return sha256Hex(out.canonicalRequest);
            })
            .then(function (requestHash) {
                out.stringToSign = [ALGORITHM, d.full, scope, requestHash].join("\n");
                return signingKey(creds.secretAccessKey, d.day, options.region, options.service);
            })
            .then(function (key) {
                return hmac(key, out.stringToSign);
            })
            .then(function (sig) {
                out.signature = hex(sig);
                out.query = signedQuery.concat(
                    [["X-Amz-Signature", out.signature]],
                    options.signSessionToken ? [] : token
                );
                return out;
            });
    }

    // The AWS IoT Core MQTT-over-WebSocket URL: wss://{endpoint}/mqtt?X-Amz-...&X-Amz-Signature=...
    // [&X-Amz-Security-Token=...]. `expiresSeconds` bounds only the WebSocket handshake: an open
    // connection lives until AWS closes it (24 h at most).
    function presignIotUrl(params) {
        return presign(
            { method: "GET", path: "/mqtt", query: [], headers: [["host", params.endpoint]], body: "" },
            {
                region: params.region,
                service: "iotdevicegateway",
                credentials: params.credentials,
                date: params.date || new Date(),
                expiresSeconds: params.expiresSeconds || 300,
                signSessionToken: false,
            }
        ).then(function (signed) {
            var query = signed.query
                .map(function (p) {
                    return uriEncode(p[0]) + "=" + uriEncode(p[1]);
                })
                .join("&");
            return "wss://" + params.endpoint + "/mqtt?" + query;
        });
    }

    NS.sigv4 = {
        presign: presign,
        presignIotUrl: presignIotUrl,
        uriEncode: uriEncode,
        sha256Hex: sha256Hex,
    };
})(typeof window !== "undefined" ? window : globalThis);
