import { defineCommand } from "citty";
import { ReleaseService } from "../service.ts";
import type { Action, Token } from "../domain/model.ts";
import { commonArgs, listArg, numberArg, output, withService } from "./_shared.ts";

const any = (v: unknown[] | null) => (v === null ? "*" : v.join(","));
type Listed = Omit<Token, "token_hash" | "scopes"> & { scopes: { apps: string[] | null; channels: string[] | null; actions: string[] } };
const line = (t: Listed) =>
  [
    t.id,
    t.name,
    `${t.display_prefix}…`,
    `actions=${t.scopes.actions.join(",")}`,
    `apps=${any(t.scopes.apps)}`,
    `channels=${any(t.scopes.channels)}`,
    `expires=${t.expires_at ?? "never"}`,
    `last_used=${t.last_used_at ?? "never"}`,
    t.revoked_at ? `revoked=${t.revoked_at}` : "active",
  ].join("\t");

const create = defineCommand({
  meta: { name: "create", description: "Create an API token; the token is printed once and never stored" },
  args: {
    ...commonArgs,
    name: { type: "string", required: true, description: "What the token is for, e.g. ci-acme-tool" },
    actions: { type: "string", required: true, description: "Comma-separated: read, publish, promote, delete, admin", valueHint: "LIST" },
    apps: { type: "string", description: "Comma-separated OWNER/SLUG list (default: every app)", valueHint: "LIST" },
    channels: { type: "string", description: "Comma-separated channel list (default: every channel)", valueHint: "LIST" },
    "expires-days": { type: "string", description: "Lifetime in days (default: tokens.default_days)", valueHint: "N" },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const { token, raw } = await s.createToken(
        {
          name: args.name,
          actions: listArg(args.actions) as Action[],
          apps: listArg(args.apps) ?? null,
          channels: listArg(args.channels) ?? null,
          ...(args["expires-days"] !== undefined ? { expires_in_days: numberArg("expires-days", args["expires-days"]) } : {}),
        },
        ReleaseService.operator(),
      );
      process.stderr.write("This token is shown once; store it now (only its hash is kept).\n");
      output(args.json, { token: raw, id: token.id, name: token.name, scopes: token.scopes, expires_at: token.expires_at }, () => [raw]);
    }),
});

const list = defineCommand({
  meta: { name: "list", description: "List tokens (never their values)" },
  args: { ...commonArgs },
  run: ({ args }) =>
    withService(args, async (s) => {
      const apps = new Map((await s.listApps()).map((a) => [a.id, `${a.owner}/${a.slug}`]));
      const slug = (id: number) => apps.get(id) ?? `#${id}`;
      const tokens = (await s.listTokens()).map(({ token_hash: _hash, ...t }) => ({ ...t, scopes: { ...t.scopes, apps: t.scopes.apps?.map(slug) ?? null } }));
      output(args.json, tokens, () => tokens.map(line));
    }),
});

const revoke = defineCommand({
  meta: { name: "revoke", description: "Revoke a token by id" },
  args: { ...commonArgs, id: { type: "positional", required: true, description: "Token id (see token list)" } },
  run: ({ args }) =>
    withService(args, async (s) => {
      const t = await s.revokeToken(numberArg("id", args.id), ReleaseService.operator());
      output(args.json, { id: t.id, name: t.name, revoked_at: t.revoked_at }, () => [`revoked token ${t.id} (${t.name}) at ${t.revoked_at}`]);
    }),
});

export default defineCommand({ meta: { name: "token", description: "Manage API tokens" }, subCommands: { create, list, revoke } });
