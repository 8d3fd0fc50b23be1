import type { Clock } from "../clock.ts";
import { newId } from "../ids.ts";
import type { Account } from "../types.ts";
import { K } from "./keys.ts";
import type { SendmuxRedis } from "./redis.ts";

export class AccountStore {
  constructor(private readonly redis: SendmuxRedis, private readonly clock: Clock) {}

  async create(name: string, email: string | null): Promise<Account> {
    const acct: Account = { id: newId("acct"), name, email, status: "active", created_at: new Date(this.clock.now()).toISOString() };
    await this.redis.multi().set(K.account(acct.id), JSON.stringify(acct)).sadd(K.accounts(), acct.id).exec();
    return acct;
  }

  async get(id: string): Promise<Account | null> {
    const raw = await this.redis.get(K.account(id));
    return raw ? (JSON.parse(raw) as Account) : null;
  }

  async listIds(): Promise<string[]> {
    return this.redis.smembers(K.accounts());
  }
}
