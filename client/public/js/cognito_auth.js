// AWS mode sign-in: Cognito managed login (passkey) with the authorization code flow + PKCE for a
// public client (no secret), tokens in sessionStorage (seed: sessionStorage を優先), then Identity
// Pool credentials for the SigV4-presigned MQTT URL, renewed before they expire.
//
// Endpoints (all public, no AWS SDK):
//   {cognitoDomain}/oauth2/authorize, /oauth2/token, /logout            (OAuth 2.0 + PKCE)
//   https://cognito-identity.{region}.amazonaws.com/  GetId, GetCredentialsForIdentity
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});
    var STORE = "iotConsole.tokens";
    var PENDING = "iotConsole.pkce";
    var SCOPES = "openid aws.cognito.signin.user.admin"; // the second one: passkey list / delete

    function b64url(bytes) {
        var s = "";
        for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
        return root.btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }

    function randomB64url(n) {
        var a = new Uint8Array(n);
        root.crypto.getRandomValues(a);
        return b64url(a);
    }

    function pkceChallenge(verifier) {
        return root.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (h) {
            return b64url(new Uint8Array(h));
        });
    }

    function form(params) {
        return Object.keys(params)
            .map(function (k) {
                return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
            })
            .join("&");
    }

    // A JSON call of an AWS service that needs no SigV4 (Cognito's unauthenticated / token-based APIs).
    function awsJson(url, target, body) {
        return root
            .fetch(url, {
                method: "POST",
                headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target },
                body: JSON.stringify(body),
            })
            .then(function (r) {
                return r.json().then(function (j) {
                    if (!r.ok) throw new Error(target.split(".").pop() + ": " + (j.message || j.__type || r.status));
                    return j;
                });
            });
    }

    function CognitoAuth(config) {
        this.config = config;
        this.credentials = null; // {accessKeyId, secretAccessKey, sessionToken, expiration (ms)}
        this.identityId = null;
    }

    CognitoAuth.prototype.tokens = function () {
        try {
            return JSON.parse(root.sessionStorage.getItem(STORE) || "null");
        } catch (e) {
            return null;
        }
    };

    CognitoAuth.prototype.saveTokens = function (t, previousRefresh) {
        var tokens = {
            idToken: t.id_token,
            accessToken: t.access_token,
            refreshToken: t.refresh_token || previousRefresh || null,
            expiresAt: Date.now() + (t.expires_in || 3600) * 1000,
        };
        root.sessionStorage.setItem(STORE, JSON.stringify(tokens));
        return tokens;
    };

    CognitoAuth.prototype.signIn = function () {
        var c = this.config;
        var verifier = randomB64url(32);
        var state = randomB64url(16);
        root.sessionStorage.setItem(PENDING, JSON.stringify({ verifier: verifier, state: state }));
        return pkceChallenge(verifier).then(function (challenge) {
            root.location.assign(
                c.cognitoDomain +
                    "/oauth2/authorize?" +
                    form({
                        response_type: "code",
                        client_id: c.clientId,
                        redirect_uri: c.redirectUri,
                        scope: SCOPES,
                        state: state,
                        code_challenge: challenge,
                        code_challenge_method: "S256",
                    })
            );
        });
    };

    CognitoAuth.prototype.signOut = function () {
        root.sessionStorage.removeItem(STORE);
        root.location.assign(
            this.config.cognitoDomain +
                "/logout?" +
                form({ client_id: this.config.clientId, logout_uri: this.config.redirectUri })
        );
    };

    // Managed login's passkey registration page for the signed-in user (seed 2.3: 「この端末を登録」).
    CognitoAuth.prototype.registerPasskeyUrl = function () {
        return (
            this.config.cognitoDomain +
            "/passkeys/add?" +
            form({ client_id: this.config.clientId, redirect_uri: this.config.redirectUri })
        );
    };

    // Finishes a redirect back from managed login (?code=&state=). Resolves to true when signed in.
    CognitoAuth.prototype.completeSignIn = function () {
        var self = this;
        var params = new URLSearchParams(root.location.search);
        var code = params.get("code");
        if (params.get("error")) return Promise.reject(new Error("サインインに失敗しました: " + params.get("error")));
        if (!code) return Promise.resolve(this.tokens() !== null);
        var pending = JSON.parse(root.sessionStorage.getItem(PENDING) || "null");
        root.sessionStorage.removeItem(PENDING);
        root.history.replaceState(null, "", root.location.pathname);
        if (!pending || pending.state !== params.get("state"))
            return Promise.reject(new Error("サインインの応答が一致しません。もう一度サインインしてください"));
        return this.tokenRequest({
            grant_type: "authorization_code",
            client_id: this.config.clientId,
            code: code,
            redirect_uri: this.config.redirectUri,
            code_verifier: pending.verifier,
        }).then(function (t) {
            self.saveTokens(t);
            return true;
        });
    };

    CognitoAuth.prototype.tokenRequest = function (params) {
        return root
            .fetch(this.config.cognitoDomain + "/oauth2/token", {
                method: "POST",
                headers: { "Content-Type": "application/x-www-form-urlencoded" },
                body: form(params),
            })
            .then(function (r) {
                return r.json().then(function (j) {
                    if (!r.ok) throw new Error("トークン取得に失敗しました: " + (j.error || r.status));
                    return j;
                });
            });
    };

    // Valid user-pool tokens, refreshed when less than 5 minutes remain.
    CognitoAuth.prototype.validTokens = function () {
        var self = this;
        var t = this.tokens();
        if (!t) return Promise.reject(new Error("サインインしていません"));
        if (t.expiresAt - Date.now() > 5 * 60 * 1000) return Promise.resolve(t);
        if (!t.refreshToken) return Promise.reject(new Error("サインインの有効期限が切れました"));
        return this.tokenRequest({
            grant_type: "refresh_token",
            client_id: this.config.clientId,
            refresh_token: t.refreshToken,
        }).then(function (n) {
            return self.saveTokens(n, t.refreshToken);
        });
    };

    // Identity Pool credentials, renewed when less than 5 minutes remain.
    CognitoAuth.prototype.awsCredentials = function () {
        var self = this;
        var c = this.config;
        if (this.credentials && this.credentials.expiration - Date.now() > 5 * 60 * 1000)
            return Promise.resolve(this.credentials);
        var url = "https://cognito-identity." + c.region + ".amazonaws.com/";
        return this.validTokens().then(function (t) {
            var logins = {};
            logins["cognito-idp." + c.region + ".amazonaws.com/" + c.userPoolId] = t.idToken;
            var id = self.identityId
                ? Promise.resolve({ IdentityId: self.identityId })
                : awsJson(url, "AWSCognitoIdentityService.GetId", { IdentityPoolId: c.identityPoolId, Logins: logins });
            return id
                .then(function (r) {
                    self.identityId = r.IdentityId;
                    return awsJson(url, "AWSCognitoIdentityService.GetCredentialsForIdentity", {
                        IdentityId: r.IdentityId,
                        Logins: logins,
                    });
                })
                .then(function (r) {
                    self.credentials = {
                        accessKeyId: r.Credentials.AccessKeyId,
                        secretAccessKey: r.Credentials.SecretKey,
                        sessionToken: r.Credentials.SessionToken,
                        expiration: r.Credentials.Expiration * 1000,
                    };
                    return self.credentials;
                });
        });
    };

    // For MqttLink: a freshly presigned wss URL each time.
    // hint.renew: the broker ended or refused the last connection (e.g. AWS's 24 h limit on a SigV4
    // connection): fetch new Identity Pool credentials rather than signing with the cached ones.
    CognitoAuth.prototype.connectParams = function (hint) {
        var self = this;
        var c = this.config;
        if (hint && hint.renew) this.credentials = null;
        if (!this.suffix) this.suffix = NS.randomHex(6);
        return this.awsCredentials().then(function (creds) {
            return NS.sigv4
                .presignIotUrl({ endpoint: c.iotEndpoint, region: c.region, credentials: creds, expiresSeconds: 300 })
                .then(function (url) {
                    var prefix = (c.clientIdPrefix || "console-").replace("{identityId}", self.identityId || "");
                    return { url: url, clientId: prefix + self.suffix };
                });
        });
    };

    CognitoAuth.prototype.expiresAt = function () {
        return this.credentials ? this.credentials.expiration : null;
    };

    NS.CognitoAuth = CognitoAuth;
    NS.awsJson = awsJson;
})(typeof window !== "undefined" ? window : globalThis);
