/**
 * Settings: the unknown-variable check (test-only variables ignored, typos refused), the values
 * --help, the README and the error messages name, and the --help layout.
 */
import { expect, test } from "bun:test";
import { ConfigError, ENV_DOC, TEST_ONLY_ENV, envHelp, loadConfig } from "../../src/config.ts";

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

test("the test suite's own SENDMUX_* variables do not stop the gateway; a typo still does", () => {
  const testEnv = { SENDMUX_TEST_LOAD_N: "20000", SENDMUX_TEST_MEMORY_N: "500", SENDMUX_CASES_DIR: "/tmp/cases" };
  expect(problemsOf(testEnv)).toEqual([]);
  expect(TEST_ONLY_ENV.map(([k]) => k).sort()).toEqual(Object.keys(testEnv).sort());
  const typo = problemsOf({ ...testEnv, SENDMUX_HTTP_ADRR: "127.0.0.1:9" });
  expect(typo).toHaveLength(1);
  expect(typo[0]).toStartWith("SENDMUX_HTTP_ADRR: unknown setting");
  // Near misses of the test-only names are typos too.
  expect(problemsOf({ SENDMUX_TEST_LOAD: "20000" })[0]).toStartWith("SENDMUX_TEST_LOAD: unknown setting");
  expect(problemsOf({ SENDMUX_CASE_DIR: "/tmp" })[0]).toStartWith("SENDMUX_CASE_DIR: unknown setting");
});

test("LOG_LEVEL takes silent and REDIS_URL takes unix://; --help and the error messages say so", () => {
  expect(loadConfig({ LOG_LEVEL: "silent" }).logLevel).toBe("silent");
  expect(loadConfig({ REDIS_URL: "unix:///run/redis/redis.sock" }).redisUrl).toBe("unix:///run/redis/redis.sock");
  expect(problemsOf({ LOG_LEVEL: "verbose" })[0]).toContain("silent");
  expect(problemsOf({ REDIS_URL: "http://x" })[0]).toContain("unix://");
  const doc = Object.fromEntries(ENV_DOC.map(([k, , m]) => [k, m]));
  for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) expect(doc.LOG_LEVEL).toContain(level);
  for (const scheme of ["redis://", "rediss://", "unix://"]) expect(doc.REDIS_URL).toContain(scheme);
  expect(doc.SENDMUX_DATA_DIR).toContain("operator token");
});

test("--help: every name is followed by at least two spaces, descriptions start in one column", () => {
  const lines = envHelp().split("\n");
  const names = [...ENV_DOC.map(([k]) => k), ...TEST_ONLY_ENV.map(([k]) => k)];
  expect(Math.max(...names.map((n) => n.length))).toBeGreaterThanOrEqual(31);
  const columns = new Set<number>();
  for (const name of names) {
    const line = lines.find((l) => l.startsWith(`  ${name} `));
    expect(line, name).toBeDefined();
    expect(line!.slice(2 + name.length, 4 + name.length), name).toBe("  ");
    columns.add(2 + name.length + line!.slice(2 + name.length).search(/\S/));
  }
  expect(columns.size).toBe(1);
  // The "default:" lines start in the same column as the descriptions.
  const col = [...columns][0]!;
  for (const l of lines.filter((x) => x.trim().startsWith("default:"))) expect(l.indexOf("default:")).toBe(col);
});
