import { defineCommand } from "citty";
import { canonicalJson } from "../../shared/json.ts";
import { usageError } from "../../shared/errors.ts";
import { commonArgs, numberArg, output, withService } from "./_shared.ts";

const list = defineCommand({
  meta: { name: "list", description: "List audit events, newest first" },
  args: {
    ...commonArgs,
    limit: { type: "string", description: "At most this many (default 100, max 1000)", valueHint: "N" },
    before: { type: "string", description: "Only events with an id below this (paging)", valueHint: "ID" },
    action: { type: "string", description: "Only this action, e.g. release.publish", valueHint: "ACTION" },
    target: { type: "string", description: "Only events about this target, e.g. release:12 or token:3", valueHint: "TYPE:ID" },
  },
  run: ({ args }) =>
    withService(args, async (s) => {
      const [target_type, ...id] = args.target?.split(":") ?? [];
      if (args.target !== undefined && id.length === 0) throw usageError(`--target must be TYPE:ID, got ${JSON.stringify(args.target)}`);
      const events = await s.listAudit({
        ...(args.target !== undefined ? { target_type, target_id: id.join(":") } : {}),
        limit: args.limit === undefined ? undefined : numberArg("limit", args.limit),
        before: args.before === undefined ? undefined : numberArg("before", args.before),
        action: args.action,
      });
      output(args.json, events, () =>
        events.map((e) => `${e.id}\t${e.created_at}\t${e.actor}\t${e.action}\t${e.target_type}:${e.target_id}\t${canonicalJson(e.metadata)}`),
      );
    }),
});

export default defineCommand({ meta: { name: "audit", description: "Read the audit log" }, subCommands: { list } });
