// A real OpenID provider (npm oidc-provider) on 127.0.0.1 for tests/test_oidc.py.
//
// Environment: OIDC_PORT (a free port), OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI (the site's
// callback), OIDC_USERS (JSON: login -> preferred_username; a login not listed keeps its own name as its
// preferred_username, so a test can sign in as someone the site has no account for).
// The login is completed through the provider's development login and consent forms (devInteractions):
// any login and password are accepted. Prints "ready" once listening.

import { generateKeyPairSync, randomBytes } from "node:crypto";

import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const users = JSON.parse(process.env.OIDC_USERS || "{}");
const issuer = `http://127.0.0.1:${port}`;

// a signing key of its own each run, so no development key shipped with the package is ever trusted
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test-key", use: "sig", alg: "RS256" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  claims: { openid: ["sub"], profile: ["preferred_username", "name"] },
  pkce: { methods: ["S256"], required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, sub) {
    const username = Object.hasOwn(users, sub) ? users[sub] : sub;
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: username, name: `Test user ${username}` };
      },
    };
  },
});
provider.proxy = false;

const server = provider.listen(port, "127.0.0.1", () => {
  console.log("ready");
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
