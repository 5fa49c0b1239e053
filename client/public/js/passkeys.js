// The passkeys of the shared operator user (seed runbook: 端末（UI）の抹消 — list the registered
// passkeys, delete a lost or retired device's). Cognito's ListWebAuthnCredentials /
// DeleteWebAuthnCredential take the user's access token (scope aws.cognito.signin.user.admin);
// registering a new device goes through managed login (CognitoAuth.registerPasskeyUrl).
(function (root) {
    "use strict";
    var NS = (root.IotConsole = root.IotConsole || {});

    function Passkeys(config, auth) {
        this.url = "https://cognito-idp." + config.region + ".amazonaws.com/";
        this.auth = auth;
    }

    // Resolves to [{id, name, createdAt (Date), attachment, rpId}], every page.
    Passkeys.prototype.list = function () {
        var self = this;
        var out = [];
        function page(accessToken, next) {
            var body = { AccessToken: accessToken, MaxResults: 20 };
            if (next) body.NextToken = next;
            return NS.awsJson(self.url, "AWSCognitoIdentityProviderService.ListWebAuthnCredentials", body).then(
                function (r) {
                    (r.Credentials || []).forEach(function (c) {
                        out.push({
                            id: c.CredentialId,
                            name: c.FriendlyCredentialName || "（名前なし）",
                            createdAt: new Date(c.CreatedAt * 1000),
                            attachment: c.AuthenticatorAttachment || "",
                            rpId: c.RelyingPartyId,
                        });
                    });
                    return r.NextToken ? page(accessToken, r.NextToken) : out;
                }
            );
        }
        return this.auth.validTokens().then(function (t) {
            return page(t.accessToken, null);
        });
    };

    Passkeys.prototype.remove = function (credentialId) {
        var self = this;
        return this.auth.validTokens().then(function (t) {
            return NS.awsJson(self.url, "AWSCognitoIdentityProviderService.DeleteWebAuthnCredential", {
                AccessToken: t.accessToken,
                CredentialId: credentialId,
            });
        });
    };

    NS.Passkeys = Passkeys;
})(typeof window !== "undefined" ? window : globalThis);
