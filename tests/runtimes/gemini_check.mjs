// Loads a policy file with Gemini CLI's own loader (@google/gemini-cli-core) and asks its PolicyEngine for the
// decision on each call. Input (stdin): {"policy": PATH, "calls": [{"name", "args", "server", "annotations"}]}.
// Output (stdout): {"errors": [...loader errors and warnings...], "decisions": ["allow" | "ask_user" | "deny"]}.
import { loadPoliciesFromToml, PolicyEngine, PolicyDecision, ApprovalMode } from '@google/gemini-cli-core';
import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(0, 'utf-8'));
const loaded = await loadPoliciesFromToml([input.policy], () => 4); // the User tier, as the export advises
const engine = new PolicyEngine({
  rules: loaded.rules,
  checkers: loaded.checkers,
  defaultDecision: PolicyDecision.ASK_USER,
  nonInteractive: input.nonInteractive ?? false,
  approvalMode: ApprovalMode.DEFAULT,
});
const decisions = [];
for (const c of input.calls) {
  const r = await engine.check({ name: c.name, args: c.args ?? {} }, c.server ?? undefined, c.annotations ?? undefined);
  decisions.push(r.decision);
}
process.stdout.write(JSON.stringify({
  errors: loaded.errors.map((e) => ({ type: e.errorType, severity: e.severity ?? 'error', message: e.message, details: e.details ?? '' })),
  rules: loaded.rules.length,
  decisions,
}) + '\n');
