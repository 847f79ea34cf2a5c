import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import {
  AdminClient,
  type DeleteEntryRequest,
  type DeleteEntryResponse,
  type GetAlertStatsRequest,
  type GetAlertStatsResponse,
  type ListAlertsRequest,
  type ListAlertsResponse,
  type ListEntriesRequest,
  type ListEntriesResponse,
  type PutEntryRequest,
  type PutEntryResponse,
} from '../../gen/nerve/admin/v1/admin';
import { SMTPServer } from 'smtp-server';
import { DemoEngine } from '../../src/engines/engine-server';
import { logger, TestCluster } from '../helpers/cluster';
import { startReceiver } from '../helpers/webhook-receiver';
import { waitFor } from '../helpers/wait';
import { restOn } from '../helpers/rest';

/** Alerting end to end: real instances failing and returning, a real webhook receiver on loopback. */
describe('alerts: rules, notifications, acknowledgement', () => {
  let cluster: TestCluster;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const rest = (method: string, path: string, body?: unknown) => restOn(cluster.apiBase, method, path, body);

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 3 }], 100, {
      controlPlane: { alertEvalMs: 100 },
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await cluster?.stop();
  });

  it('tells a webhook of an instance killed and one failing its probe, as one notification in Alertmanager form, and of their return at once', async () => {
    expect(
      (await rest('POST', '/notification-channels', { name: 'hook', type: 'webhook', url: receiver.url }))
        .status,
    ).toBe(201);
    const created = await rest('POST', '/alert-rules', {
      id: 'down',
      name: 'instance down',
      severity: 'critical',
      event: 'instance_down',
      channels: ['hook'],
      groupWaitMs: 500,
    });
    expect(created.status).toBe(201);
    // calc-1 is killed (its process gone: connections refused); calc-2 fails its probe.
    const killed = cluster.engines.get('calc-1')!;
    const failing = cluster.engines.get('calc-2')!;
    const downAt = Date.now();
    killed.kill();
    failing.setServing(false);
    const firing = await waitFor(
      () => receiver.received.find((r) => r.body.status === 'firing'),
      'the firing notification',
    );
    expect(firing.at - downAt).toBeLessThan(2_000);
    expect(firing.body).toMatchObject({
      version: '4',
      receiver: 'hook',
      groupLabels: { rule: 'down', engine: 'calc' },
    });
    expect(firing.body.alerts.map((a) => a.labels.instance).sort()).toEqual(['calc-1', 'calc-2']);
    expect(firing.body.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'down', severity: 'critical', engine: 'calc' },
    });
    expect(firing.headers['x-nerve-notification-id']).toMatch(/^down\|/);
    const listed = (await rest('GET', '/alerts?state=firing')).body.alerts as {
      id: string;
      notifications: { ok: boolean }[];
    }[];
    expect(listed).toHaveLength(2);
    await waitFor(async () => {
      const a = (await rest('GET', '/alerts?state=firing')).body.alerts as {
        notifications: { ok: boolean }[];
      }[];
      return a.every((x) => x.notifications.some((n) => n.ok));
    }, 'the attempts recorded on the alerts');
    const upAt = Date.now();
    // calc-1 comes back on its address; calc-2 passes again.
    const port = killed.port;
    const revived = await new DemoEngine({
      type: 'math',
      name: 'calc',
      id: 'calc-1',
      host: '127.0.0.1',
      port,
      logger,
    }).start();
    cluster.engines.set('calc-1', revived);
    failing.setServing(true);
    const resolved = await waitFor(
      () => receiver.received.find((r) => r.body.status === 'resolved'),
      'the resolve',
    );
    expect(resolved.at - upAt).toBeLessThan(1_500);
    expect(resolved.body.alerts.every((a) => a.status === 'resolved')).toBe(true);
    // One notification told of both failures. The two come back a moment apart on a loaded machine, so a
    // notification of the group with one alert resolved may come between: Alertmanager's way too.
    const allFiring = receiver.received.filter(
      (r) => r.body.status === 'firing' && r.body.alerts.every((a) => a.status === 'firing'),
    );
    expect(allFiring).toHaveLength(1);
    expect(allFiring[0].body.alerts).toHaveLength(2);
    const stats = (await rest('GET', '/alerts/stats')).body;
    expect(stats).toMatchObject({ byRule: { down: 2 }, bySeverity: { critical: 2 } });
    expect(stats.meanTimeToResolveMs).toBeGreaterThan(0);
  });

  it('repeats until acknowledged, then sends only the resolve; a refusing receiver is retried and delays nothing', async () => {
    receiver.received.length = 0;
    // A port nobody listens on: connections are refused.
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    await rest('POST', '/notification-channels', {
      name: 'dead',
      type: 'webhook',
      url: `http://127.0.0.1:${closed}/`,
      attempts: 3,
    });
    await rest('POST', '/alert-rules', {
      id: 'flaky',
      name: 'calc-3 down',
      severity: 'warning',
      event: 'instance_down',
      engine: 'calc',
      groupBy: ['rule', 'instance'],
      cooldownMs: 400,
      groupWaitMs: 0,
      channels: ['dead', 'hook'],
    });
    const engine = cluster.engines.get('calc-3')!;
    engine.setServing(false);
    await waitFor(
      () =>
        receiver.received.filter((r) => r.body.groupKey.startsWith('flaky') && r.body.status === 'firing')
          .length >= 2,
      'a repeat',
    );
    const alert = await waitFor(async () => {
      const a = (await rest('GET', '/alerts?state=firing&engine=calc')).body.alerts as {
        id: string;
        rule: string;
        notifications: { channel: string; ok: boolean; error: string }[];
      }[];
      return a.find(
        (x) => x.rule === 'flaky' && x.notifications.filter((n) => n.channel === 'dead').length >= 3,
      );
    }, 'three refused attempts recorded');
    expect(alert.notifications.find((n) => n.channel === 'dead')!.error).toMatch(/ECONNREFUSED|fetch failed/);
    const ack = await rest('POST', `/alerts/${alert.id}/ack`);
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ alert: { state: 'acknowledged' } });
    // The reads right after show it: the list, the filter and the statistics (read your writes).
    expect(((await rest('GET', '/alerts?state=acknowledged')).body.alerts as unknown[]).length).toBe(1);
    const stats = (await rest('GET', '/alerts/stats')).body as { byState: Record<string, number> };
    expect(stats.byState.acknowledged).toBe(1);
    const after = receiver.received.filter((r) => r.body.groupKey.startsWith('flaky')).length;
    // Three repeat intervals of evaluations pass: no repeat may come.
    const from = internals(cluster.cp).alerts.evaluations;
    await waitFor(
      () => internals(cluster.cp).alerts.evaluations >= from + 12,
      'twelve more evaluations (1.2 s)',
    );
    expect(receiver.received.filter((r) => r.body.groupKey.startsWith('flaky')).length).toBe(after);
    engine.setServing(true);
    await waitFor(
      () =>
        receiver.received.find((r) => r.body.groupKey.startsWith('flaky') && r.body.status === 'resolved'),
      'the resolve after the acknowledgement',
    );
    expect((await rest('POST', `/alerts/${alert.id}/ack`)).status).toBe(404);
  });

  it('emails over SMTP (a real SMTP server on loopback): the firing and the resolve', async () => {
    const mails: { to: string[]; data: string }[] = [];
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, done) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
          done();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as net.AddressInfo).port;
    try {
      await rest('POST', '/notification-channels', {
        name: 'mail',
        type: 'email',
        url: `smtp://127.0.0.1:${port}`,
        to: ['ops@example.com'],
        from: 'nerve@example.com',
        severities: ['error', 'critical'],
      });
      await rest('POST', '/alert-rules', {
        id: 'mailed',
        name: 'calc unavailable',
        severity: 'error',
        event: 'instance_down',
        engine: 'calc',
        groupWaitMs: 0,
        channels: ['mail'],
      });
      const engine = cluster.engines.get('calc-2')!;
      engine.setServing(false);
      const firing = await waitFor(
        () => mails.find((m) => /Subject: \[FIRING:1\] mailed/.test(m.data)),
        'the mail',
      );
      expect(firing.to).toEqual(['ops@example.com']);
      // The body is quoted-printable: "=" is written =3D.
      expect(firing.data).toMatch(/instance=3Dcalc-2/);
      expect(firing.data).toMatch(/X-Nerve-Notification-Id: mailed\|/i);
      engine.setServing(true);
      await waitFor(() => mails.find((m) => /Subject: \[RESOLVED\] mailed/.test(m.data)), 'the resolve mail');
      await rest('DELETE', '/alert-rules/mailed');
    } finally {
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });

  it('answers the same on admin gRPC: alerts, statistics, and rules as configuration entries', async () => {
    const client = new AdminClient(`127.0.0.1:${cluster.cp.port}`, grpc.credentials.createInsecure());
    const call = <Req, Res>(
      method: (r: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown,
      req: Req,
    ) =>
      new Promise<Res>((resolve, reject) => method.call(client, req, (e, r) => (e ? reject(e) : resolve(r))));
    try {
      const alerts = await call<ListAlertsRequest, ListAlertsResponse>(client.listAlerts, {
        state: 'resolved',
        severity: '',
        engine: 'calc',
      });
      const rest = (await (await fetch(`${cluster.apiBase}/alerts?state=resolved&engine=calc`)).json()) as {
        alerts: { id: string }[];
      };
      expect(alerts.alerts.map((a) => a.id)).toEqual(rest.alerts.map((a) => a.id));
      const stats = await call<GetAlertStatsRequest, GetAlertStatsResponse>(client.getAlertStats, {});
      const restStats = (await (await fetch(`${cluster.apiBase}/alerts/stats`)).json()) as {
        byRule: Record<string, number>;
      };
      expect(stats.byRule).toEqual(restStats.byRule);
      expect(stats.byRule.down).toBeGreaterThanOrEqual(2);
      const put = await call<PutEntryRequest, PutEntryResponse>(client.putEntry, {
        kind: 'silences',
        name: 'quiet',
        json: JSON.stringify({
          matchers: [{ label: 'engine', value: 'calc' }],
          endsAt: '2030-01-01T00:00:00Z',
        }),
        ifMatch: 0,
      });
      expect(put.entry!.revision).toBeGreaterThan(0);
      const listed = await call<ListEntriesRequest, ListEntriesResponse>(client.listEntries, {
        kind: 'silences',
      });
      expect(listed.entries.map((e) => e.name)).toEqual(['quiet']);
      const stale = await call<PutEntryRequest, PutEntryResponse>(client.putEntry, {
        kind: 'silences',
        name: 'quiet',
        json: JSON.stringify({
          matchers: [{ label: 'engine', value: 'calc' }],
          endsAt: '2031-01-01T00:00:00Z',
        }),
        ifMatch: 1,
      }).catch((e: grpc.ServiceError) => e);
      expect((stale as grpc.ServiceError).code).toBe(grpc.status.ABORTED);
      const bad = await call<ListEntriesRequest, ListEntriesResponse>(client.listEntries, {
        kind: 'engines',
      }).catch((e: grpc.ServiceError) => e);
      expect((bad as grpc.ServiceError).details).toMatch(
        /kind must be one of alert-rules, notification-channels, silences/,
      );
      await call<DeleteEntryRequest, DeleteEntryResponse>(client.deleteEntry, {
        kind: 'silences',
        name: 'quiet',
        ifMatch: 0,
      });
    } finally {
      client.close();
    }
  });

  it('refuses bad rules with the field named, and keeps rules in the versioned configuration', async () => {
    const bad = await rest('POST', '/alert-rules', {
      id: 'x',
      name: 'x',
      severity: 'loud',
      event: 'instance_down',
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/severity/);
    const exported = (await rest('GET', '/config/export')).body as Record<string, unknown[]>;
    expect(exported['alert-rules'].map((r) => (r as { id: string }).id).sort()).toEqual(['down', 'flaky']);
    expect((await rest('DELETE', '/alert-rules/flaky')).status).toBe(204);
    expect((await rest('GET', '/alert-rules/flaky')).status).toBe(404);
  });

  it('derives a rule id from its name, and refuses a silence that already ended', async () => {
    const rule = await rest('POST', '/alert-rules', {
      name: 'Calc p99 high!',
      severity: 'warning',
      event: 'instance_down',
      engine: 'calc',
    });
    expect(rule.status).toBe(201);
    expect(rule.body).toMatchObject({ id: 'calc-p99-high', name: 'Calc p99 high!' });
    expect((await rest('DELETE', '/alert-rules/calc-p99-high')).status).toBe(204);
    const past = await rest('POST', '/silences', {
      id: 'too-late',
      matchers: [{ label: 'engine', value: 'calc' }],
      endsAt: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(past.status).toBe(400);
    expect(JSON.stringify(past.body)).toMatch(/endsAt .* is in the past: a silence must end after now/);
  });
});

/** With evaluations a minute apart, what a write answers and the reads after it can only come from it. */
describe('alerting reads its writes', () => {
  let cluster: TestCluster;
  const rest = (method: string, path: string, body?: unknown) => restOn(cluster.apiBase, method, path, body);
  const firing = async () =>
    ((await rest('GET', '/alerts?state=firing')).body.alerts as { id: string }[]).map((a) => a.id);

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 2 }], 100, {
      controlPlane: { alertEvalMs: 60_000 },
    });
  });
  afterAll(async () => cluster?.stop());

  it('evaluates a rule written before answering: the next read shows what it fires, and a delete resolves it', async () => {
    const rule = {
      id: 'thin',
      name: 'thin',
      severity: 'info',
      condition: { metric: 'healthyInstances', op: '<', threshold: 3 },
    };
    expect((await rest('POST', '/alert-rules', rule)).status).toBe(201);
    expect(await firing()).toEqual(['thin:calc:*']);
    expect((await rest('GET', '/alerts/stats')).body).toMatchObject({ byState: { firing: 1 } });
    expect(
      (await rest('PATCH', '/alert-rules/thin', { condition: { ...rule.condition, threshold: 2 } })).status,
    ).toBe(200);
    expect(await firing()).toEqual([]);
    expect((await rest('PUT', '/alert-rules/thin', rule)).status).toBe(200);
    expect(await firing()).toEqual(['thin:calc:*']);
    expect((await rest('DELETE', '/alert-rules/thin')).status).toBe(204);
    expect(await firing()).toEqual([]);
  });

  it('mutes by an inhibit rule over REST: evaluated before the answer, listed with inhibitedBy, refused when bad', async () => {
    const condition = { metric: 'healthyInstances', op: '<', threshold: 3 };
    expect(
      (await rest('POST', '/alert-rules', { id: 'thin', name: 'thin', severity: 'info', condition })).status,
    ).toBe(201);
    expect(
      (
        await rest('POST', '/alert-rules', {
          id: 'thin-page',
          name: 'thin page',
          severity: 'critical',
          condition,
        })
      ).status,
    ).toBe(201);
    const inhibit = {
      id: 'critical-mutes-info',
      sourceMatchers: [{ label: 'severity', value: 'critical' }],
      targetMatchers: [{ label: 'severity', op: '=', value: 'info' }],
      equal: ['engine'],
    };
    const made = await rest('POST', '/inhibit-rules', inhibit);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ ...inhibit, comment: '', revision: expect.any(Number) });
    const alerts = (await rest('GET', '/alerts')).body.alerts as { id: string; inhibitedBy: string[] }[];
    expect(Object.fromEntries(alerts.map((a) => [a.id, a.inhibitedBy]))).toEqual({
      'thin-page:calc:*': [],
      'thin:calc:*': ['critical-mutes-info'],
    });
    expect((await rest('GET', '/inhibit-rules')).body.inhibitRules).toHaveLength(1);
    const bad = await rest('POST', '/inhibit-rules', { id: 'bad', sourceMatchers: [], targetMatchers: [] });
    expect(bad.status).toBe(400);
    expect(String(bad.body.message ?? JSON.stringify(bad.body))).toMatch(/sourceMatchers/);
    expect((await rest('DELETE', '/inhibit-rules/critical-mutes-info')).status).toBe(204);
    const lifted = (await rest('GET', '/alerts')).body.alerts as { id: string; inhibitedBy: string[] }[];
    expect(lifted.find((a) => a.id === 'thin:calc:*')?.inhibitedBy).toEqual([]);
    for (const id of ['thin', 'thin-page'])
      expect((await rest('DELETE', `/alert-rules/${id}`)).status).toBe(204);
  });

  it('takes a silence for a duration, as amtool does, and names a duration it cannot read', async () => {
    const before = Date.now();
    const made = await rest('POST', '/silences', {
      id: 'maint',
      duration: '2h',
      matchers: [{ label: 'engine', value: 'calc' }],
    });
    expect(made.status).toBe(201);
    const endsAt = Date.parse((made.body as { endsAt: string }).endsAt);
    expect(endsAt).toBeGreaterThanOrEqual(before + 2 * 3_600_000);
    expect(endsAt).toBeLessThan(Date.now() + 2 * 3_600_000 + 1_000);
    expect(made.body).not.toHaveProperty('duration');
    const bad = await rest('POST', '/silences', {
      id: 'bad',
      duration: 'two hours',
      matchers: [{ label: 'engine', value: 'calc' }],
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/duration.*must be one duration such as 30m, 2h or 1d/);
  });
});
