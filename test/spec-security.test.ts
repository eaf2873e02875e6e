// Rule secrets: credentials are references (env:NAME, file:PATH), never inline, and authentication
// settings that cannot work are caught.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../src/spec/diagnostics.js';
import { base, expectClean, expectDiagnostic, expectDiagnostics, validate } from './helpers/spec.js';

/** BASE with `security:` on line 12, `authentication:` on 13 and `lines` from line 14 on. */
const auth = (...lines: string[]): string => base({}, 'security:', '  authentication:', ...lines);

void describe('rule secrets: references', () => {
  void test('an inline secret is an error that does not repeat the secret', () => {
    const result = validate(auth('    credentials:', '      - { principal: fw, secret: hunter2 }'));
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 15,
        col: 34,
        message: 'secrets must be given by reference, never inline',
        fix: 'write env:NAME (an environment variable) or file:PATH (a file on this machine)',
        path: 'security.authentication.credentials[0].secret',
      },
    ]);
    for (const d of result.diagnostics) {
      assert.ok(!formatDiagnostic(d).includes('hunter2'), formatDiagnostic(d));
      assert.ok(!JSON.stringify(d).includes('hunter2'));
    }
  });

  void test('env:NAME and file:/path secrets are accepted and kept as references', () => {
    const spec = expectClean(
      validate(
        auth(
          '    frameworks: true',
          '    credentials:',
          '      - { principal: fw, secret: env:MESOS_FW_SECRET }',
          '      - { principal: ops, secret: file:/etc/meso/ops.secret }',
        ),
      ),
    );
    assert.deepEqual(spec.security.credentials, [
      { principal: 'fw', secret: 'env:MESOS_FW_SECRET' },
      { principal: 'ops', secret: 'file:/etc/meso/ops.secret' },
    ]);
    assert.equal(spec.security.authenticateFrameworks, true);
  });

  void test('env: with a name that is not a variable name is inline', () => {
    expectDiagnostic(
      validate(auth('    credentials:', '      - { principal: fw, secret: "env:1-SECRET" }')),
      {
        severity: 'error',
        line: 15,
        col: 34,
        message: 'never inline',
      },
    );
  });

  void test('an inline agent credential secret is an error at that secret', () => {
    const text = auth(
      '    credentials: [{ principal: ag, secret: env:AG }]',
      '    agent: { principal: ag, secret: s3cr3t }',
    );
    const result = validate(text);
    expectDiagnostics(result, [
      {
        severity: 'error',
        line: 15,
        col: 37,
        message: 'never inline',
        path: 'security.authentication.agent.secret',
      },
    ]);
    assert.ok(!JSON.stringify(result.diagnostics).includes('s3cr3t'));
  });

  void test('a numeric inline secret is not echoed by the schema layer either', () => {
    const result = validate(auth('    credentials:', '      - { principal: fw, secret: 123456 }'));
    assert.equal(result.diagnostics.length, 1);
    assert.ok(!JSON.stringify(result.diagnostics).includes('123456'));
  });
});

void describe('rule secrets: principals', () => {
  void test('a principal with a space is an error at the principal', () => {
    expectDiagnostics(validate(auth('    credentials:', '      - { principal: "my fw", secret: env:FW }')), [
      {
        severity: 'error',
        line: 15,
        col: 22,
        message: "principal 'my fw' has unsafe characters",
        fix: "use letters, digits, '_', '.', '@' and '-'",
        path: 'security.authentication.credentials[0].principal',
      },
    ]);
  });

  void test('an agent credential not among the credentials is a warning', () => {
    const text = auth(
      '    credentials: [{ principal: fw, secret: env:FW }]',
      '    agent: { principal: ag, secret: env:AG }',
    );
    const result = validate(text);
    expectDiagnostics(result, [
      {
        severity: 'warning',
        line: 15,
        col: 12,
        message: "principal 'ag' is not among the credentials the masters accept",
        fix: 'add it to security.authentication.credentials',
      },
    ]);
    assert.ok(result.spec !== undefined);
  });

  void test('a Marathon credential while Marathon is disabled is a warning', () => {
    const text = auth(
      '    credentials: [{ principal: mt, secret: env:MT }]',
      '    marathon: { principal: mt, secret: env:MT }',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'warning',
        line: 15,
        col: 15,
        message: 'a Marathon credential is given but Marathon is not enabled',
      },
    ]);
  });
});

void describe('rule secrets: authentication switches', () => {
  void test('frameworks: true without credentials is an error at authentication', () => {
    expectDiagnostics(validate(auth('    frameworks: true')), [
      {
        severity: 'error',
        line: 14,
        col: 5,
        message: 'authentication is on but no credentials are listed',
        fix: 'add credentials: with a principal and a secret reference',
        path: 'security.authentication',
      },
    ]);
  });

  void test('agents: true without an agent credential is an error at agents', () => {
    const text = auth('    agents: true', '    credentials: [{ principal: ag, secret: env:AG }]');
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 14,
        col: 13,
        message: 'agents must authenticate but no agent credential is given',
        fix: 'add security.authentication.agent',
        path: 'security.authentication.agents',
      },
    ]);
  });

  void test('agents: true with neither credentials nor agent credential is two errors', () => {
    expectDiagnostics(validate(auth('    agents: true')), [
      { severity: 'error', line: 14, col: 5, message: 'no credentials are listed' },
      { severity: 'error', line: 14, col: 13, message: 'no agent credential is given' },
    ]);
  });

  void test('agent authentication with a matching agent credential is fine', () => {
    const spec = expectClean(
      validate(
        auth(
          '    agents: true',
          '    credentials: [{ principal: ag, secret: file:/etc/meso/ag }]',
          '    agent: { principal: ag, secret: file:/etc/meso/ag }',
        ),
      ),
    );
    assert.deepEqual(spec.security.agentCredential, { principal: 'ag', secret: 'file:/etc/meso/ag' });
  });
});

void describe('rule secrets: ssl files', () => {
  void test('a relative certFile is an error at certFile', () => {
    const text = base(
      {},
      'security:',
      '  ssl:',
      '    certFile: certs/cert.pem',
      '    keyFile: /etc/ssl/key.pem',
    );
    expectDiagnostics(validate(text), [
      {
        severity: 'error',
        line: 14,
        col: 15,
        message: "'certs/cert.pem' must be an absolute path of safe characters",
        path: 'security.ssl.certFile',
      },
    ]);
  });

  void test('ssl without keyFile is a schema error', () => {
    expectDiagnostics(validate(base({}, 'security:', '  ssl:', '    certFile: /etc/ssl/cert.pem')), [
      {
        severity: 'error',
        line: 14,
        col: 5,
        message: "missing required field 'keyFile'",
        path: 'security.ssl',
      },
    ]);
  });
});
