/**
 * Apps: create, look up and list the apps releases belong to. Part of ReleaseService (service.ts);
 * the conventions are core.ts's.
 */
import { clip, NotFound } from "../domain/errors.ts";
import type { App, Principal } from "../domain/model.ts";
import { NewAppSchema, parseInput, type NewAppInput } from "../domain/validate.ts";
import type { ServiceCore } from "./core.ts";

export class Apps {
  constructor(private readonly core: ServiceCore) {}

  async createApp(input: NewAppInput, by: Principal): Promise<App> {
    this.core.authorize(by, "admin");
    const p = parseInput(NewAppSchema, input, "app");
    const now = this.core.now();
    return this.core.repos.transaction(async () => {
      const app = await this.core.repos.apps.create({
        owner: p.owner,
        slug: p.slug,
        display_name: p.display_name ?? p.slug,
        bundle_ids: p.bundle_ids,
        visibility: p.visibility,
        created_at: now,
        updated_at: now,
      });
      await this.core.audit(by, "app.create", "app", app.id, { owner: app.owner, slug: app.slug });
      return app;
    });
  }

  async getAppBySlug(owner: string, slug: string): Promise<App> {
    const app = await this.core.repos.apps.bySlug(owner.toLowerCase(), slug.toLowerCase());
    if (!app) throw new NotFound(`no app ${clip(owner)}/${clip(slug)}`);
    return app;
  }

  async getApp(id: number): Promise<App> {
    const app = await this.core.repos.apps.get(id);
    if (!app) throw new NotFound(`no app with id ${id}`);
    return app;
  }

  async listApps(): Promise<App[]> {
    return await this.core.repos.apps.list();
  }
}
