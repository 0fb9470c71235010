// Runs the real commitlint (@commitlint/lint with @commitlint/config-conventional, loaded the way
// the CLI loads it) over every message of a JSON array read from the file named by argv[2], and
// prints one JSON array of verdicts: { valid, errors: [rule names], warnings: [rule names] }.
// One Node process for the whole corpus keeps the agreement test fast.
import { readFileSync } from "node:fs";
import load from "@commitlint/load";
import lint from "@commitlint/lint";

const messages = JSON.parse(readFileSync(process.argv[2], "utf8"));
const config = await load({ extends: ["@commitlint/config-conventional"] });
const opts = {
  parserOpts: config.parserPreset?.parserOpts ?? {},
  plugins: config.plugins ?? {},
  ignores: config.ignores ?? [],
  defaultIgnores: config.defaultIgnores ?? true,
};
const verdicts = [];
for (const message of messages) {
  const text = typeof message === "string" ? message : message.message;
  const result = await lint(text, config.rules, opts);
  verdicts.push({
    valid: result.valid,
    errors: result.errors.map((e) => e.name).sort(),
    warnings: result.warnings.map((w) => w.name).sort(),
  });
}
process.stdout.write(JSON.stringify(verdicts));
