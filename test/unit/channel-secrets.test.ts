import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CHANNEL_TYPES,
  keepChannelSecrets,
  PAGERDUTY_EVENTS_URL,
  parseChannel,
  redactChannel,
  redactUrl,
} from '../../src/model/alerts/channel';
import { resolveChannel } from '../../src/control-plane/alerts/channels/channel-url';
import { CHANNEL_SENDERS } from '../../src/control-plane/alerts/channels/registry';

describe('notification channel secrets are write-only', () => {
  it('shows scheme, user and host, never a password, a path or a query', () => {
    expect(redactUrl('https://hooks.slack.com/services/T0/B0/abcdef')).toBe('https://hooks.slack.com/***');
    expect(redactUrl('smtp://alerts:hunter2@mail.example:587')).toBe('smtp://alerts:***@mail.example:587');
    expect(redactUrl('https://receiver.example:8443/?token=abc')).toBe('https://receiver.example:8443/***');
    expect(redactUrl('https://receiver.example')).toBe('https://receiver.example');
    expect(redactUrl('not a url')).toBe('***');
    expect(redactChannel({ name: 'c', url: 'https://h/x' })).toEqual({ name: 'c', url: 'https://h/***' });
  });

  it('keeps the stored URL when a write sends back what a read showed, and refuses any other ***', () => {
    const stored = { name: 'c', type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/abcdef' };
    const shown = redactChannel(stored);
    expect(keepChannelSecrets(shown, stored)).toEqual(stored);
    const changed = { ...shown, url: 'https://hooks.slack.com/services/T1/B1/new' };
    expect(keepChannelSecrets(changed, stored)).toEqual(changed);
    const guessed = parseChannel({ ...shown, url: 'https://other.example/***' });
    expect(guessed.ok).toBe(false);
    expect(!guessed.ok && guessed.errors.join()).toMatch(/url: holds \*\*\*/);
  });

  it('reads urlFrom at delivery from the environment or a file, and names what is missing', async () => {
    const base = {
      name: 'c',
      type: 'webhook' as const,
      severities: [],
      engines: [],
      from: 'a@b.c',
      timeoutMs: 100,
      attempts: 1,
    };
    process.env.NERVE_TEST_CHANNEL_URL = 'https://receiver.example/hook';
    await expect(
      resolveChannel({ ...base, urlFrom: { env: 'NERVE_TEST_CHANNEL_URL' } }),
    ).resolves.toMatchObject({
      url: 'https://receiver.example/hook',
    });
    const file = join(mkdtempSync(join(tmpdir(), 'nerve-secret-')), 'url');
    writeFileSync(file, 'https://receiver.example/from-file\n');
    await expect(resolveChannel({ ...base, urlFrom: { file } })).resolves.toMatchObject({
      url: 'https://receiver.example/from-file',
    });
    await expect(resolveChannel({ ...base, urlFrom: { env: 'NERVE_TEST_UNSET' } })).rejects.toThrow(
      /environment variable NERVE_TEST_UNSET is not set/,
    );
    await expect(resolveChannel({ ...base, urlFrom: { file: '/nonexistent/x' } })).rejects.toThrow(
      /cannot read \/nonexistent\/x \(ENOENT\)/,
    );
    process.env.NERVE_TEST_CHANNEL_URL = 'smtp://mail.example';
    await expect(resolveChannel({ ...base, urlFrom: { env: 'NERVE_TEST_CHANNEL_URL' } })).rejects.toThrow(
      /not an http\(s\) URL/,
    );
    expect(parseChannel({ name: 'x', type: 'webhook' }).ok).toBe(false);
    expect(parseChannel({ name: 'x', type: 'webhook', urlFrom: { env: 'A' } }).ok).toBe(true);
  });

  it('keeps a PagerDuty routing key write-only, reads it from where routingKeyFrom names, and defaults the URL', async () => {
    const stored = { name: 'pd', type: 'pagerduty', routingKey: 'abc123' };
    const shown = redactChannel(stored);
    expect(shown).toEqual({ name: 'pd', type: 'pagerduty', routingKey: '***' });
    expect(keepChannelSecrets(shown, stored)).toEqual(stored);
    expect(keepChannelSecrets({ ...shown, routingKey: 'new' }, stored)).toEqual({
      ...stored,
      routingKey: 'new',
    });
    const guessed = parseChannel({ name: 'pd', type: 'pagerduty', routingKey: 'x***' });
    expect(!guessed.ok && guessed.errors.join()).toMatch(/routingKey: holds \*\*\*/);
    const missing = parseChannel({ name: 'pd', type: 'pagerduty' });
    expect(!missing.ok && missing.errors.join()).toMatch(/needs routingKey or routingKeyFrom/);
    const misplaced = parseChannel({ name: 'w', type: 'webhook', url: 'https://h/x', routingKey: 'k' });
    expect(!misplaced.ok && misplaced.errors.join()).toMatch(/routingKey: only for type pagerduty/);
    const parsed = parseChannel({
      name: 'pd',
      type: 'pagerduty',
      routingKeyFrom: { env: 'NERVE_TEST_PD_KEY' },
    });
    expect(parsed.ok).toBe(true);
    process.env.NERVE_TEST_PD_KEY = 'from-env';
    await expect(resolveChannel(parsed.ok ? parsed.value : (undefined as never))).resolves.toMatchObject({
      url: PAGERDUTY_EVENTS_URL,
      routingKey: 'from-env',
    });
    delete process.env.NERVE_TEST_PD_KEY;
    await expect(resolveChannel(parsed.ok ? parsed.value : (undefined as never))).rejects.toThrow(
      /routingKeyFrom: environment variable NERVE_TEST_PD_KEY is not set/,
    );
  });

  it('has a sender for every channel type', () => {
    expect([...CHANNEL_SENDERS.keys()].sort()).toEqual([...CHANNEL_TYPES].sort());
  });
});
