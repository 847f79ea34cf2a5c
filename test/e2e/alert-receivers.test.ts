import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  amtoolCheck,
  hasAlertmanager,
  hasAmtool,
  startAlertmanager,
  type TestAlertmanager,
} from '../helpers/alertmanager';
import { ALERTMANAGER_SAMPLE } from '../helpers/alertmanager-sample';
import { spawnNerve } from '../helpers/process';
import { TestCluster } from '../helpers/cluster';
import { withTool } from '../helpers/requires';
import { type Received, startReceiver } from '../helpers/webhook-receiver';
import { waitFor } from '../helpers/wait';
import { restOn } from '../helpers/rest';

const alertmanager = withTool(hasAlertmanager(), 'prometheus-alertmanager');
const amtool = withTool(hasAmtool(), 'amtool (prometheus-alertmanager)');

/**
 * The receivers beyond webhook, Slack and email, end to end: an instance fails its probe and comes
 * back; PagerDuty's Events API v2 and a Teams webhook get their documented bodies from a local
 * receiver's point of view, and a real Alertmanager lists the alert, keeps it firing and resolves it.
 */
describe('alert receivers: PagerDuty, Microsoft Teams, Alertmanager', () => {
  let cluster: TestCluster;
  let pagerduty: Awaited<ReturnType<typeof startReceiver>>;
  let teams: Awaited<ReturnType<typeof startReceiver>>;
  let am: TestAlertmanager | undefined;

  const rest = (method: string, path: string, body?: unknown) => restOn(cluster.apiBase, method, path, body);

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 2 }], 100, {
      controlPlane: { alertEvalMs: 100, alertmanagerResendMs: 300 },
    });
    pagerduty = await startReceiver();
    teams = await startReceiver();
  });
  afterAll(async () => {
    await am?.stop();
    await pagerduty?.close();
    await teams?.close();
    await cluster?.stop();
  });

  it('triggers and resolves one PagerDuty incident per group, and posts an Adaptive Card to Teams', async () => {
    const pd = await rest('POST', '/notification-channels', {
      name: 'pd',
      type: 'pagerduty',
      url: pagerduty.url,
      routingKey: 'R0UTINGKEY0000000000000000000000',
    });
    expect(pd.status).toBe(201);
    expect(pd.body.routingKey).toBe('***'); // a secret: write-only
    expect(
      (await rest('POST', '/notification-channels', { name: 'teams', type: 'msteams', url: teams.url }))
        .status,
    ).toBe(201);
    expect(
      (
        await rest('POST', '/alert-rules', {
          id: 'probe',
          name: 'instance down',
          severity: 'critical',
          event: 'instance_down',
          channels: ['pd', 'teams'],
          groupWaitMs: 200,
        })
      ).status,
    ).toBe(201);
    const failing = cluster.engines.get('calc-2')!;
    failing.setServing(false);
    const trigger = await waitFor(
      () => pagerduty.received.find((r) => r.body.event_action === 'trigger'),
      'the PagerDuty trigger',
    );
    const body = trigger.body as unknown as {
      routing_key: string;
      dedup_key: string;
      payload: Record<string, unknown> & { custom_details: { alerts: { labels: Record<string, string> }[] } };
      client_url: string;
    };
    expect(body.routing_key).toBe('R0UTINGKEY0000000000000000000000');
    expect(body.dedup_key).toMatch(/^nerve-[0-9a-f]{40}$/);
    expect(body.payload).toMatchObject({
      summary: '[FIRING:1] probe engine=calc',
      source: 'calc',
      severity: 'critical',
      component: 'calc',
      group: 'probe',
      class: 'probe',
    });
    expect(Date.parse(body.payload.timestamp as string)).not.toBeNaN();
    expect(body.payload.custom_details.alerts[0].labels).toMatchObject({ instance: 'calc-2' });
    expect(body.client_url).toMatch(/\/api\/v1\/nerve\/alerts$/);

    const card = (await waitFor(() => teams.received[0], 'the Teams card')).body as unknown as {
      type: string;
      attachments: {
        contentType: string;
        content: Record<string, unknown> & {
          body: { type: string; text?: string; facts?: { title: string; value: string }[] }[];
        };
      }[];
    };
    expect(card.type).toBe('message');
    expect(card.attachments).toHaveLength(1);
    expect(card.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const blocks = card.attachments[0].content.body;
    expect(blocks[0]).toMatchObject({ type: 'TextBlock', text: '[FIRING:1] probe engine=calc' });
    expect(blocks[1].facts?.[0].title).toBe('CRITICAL calc/calc-2');

    failing.setServing(true);
    const resolve = await waitFor(
      () => pagerduty.received.find((r: Received) => r.body.event_action === 'resolve'),
      'the PagerDuty resolve',
    );
    expect(resolve.body).toEqual({
      routing_key: 'R0UTINGKEY0000000000000000000000',
      event_action: 'resolve',
      dedup_key: body.dedup_key,
    });
    await waitFor(() => teams.received.length >= 2, 'the resolved card');
    expect(JSON.stringify(teams.received[1].body)).toContain('[RESOLVED] probe engine=calc');
    expect((await rest('DELETE', '/alert-rules/probe')).status).toBe(204);
  });

  alertmanager.it(
    'sends alerts to a real Alertmanager, which lists them by their labels, keeps them firing and resolves them',
    async () => {
      am = await startAlertmanager();
      expect(
        (await rest('POST', '/notification-channels', { name: 'am', type: 'alertmanager', url: am.url }))
          .status,
      ).toBe(201);
      expect(
        (
          await rest('POST', '/alert-rules', {
            id: 'down',
            name: 'instance down',
            severity: 'warning',
            event: 'instance_down',
            channels: ['am'],
            groupWaitMs: 0,
          })
        ).status,
      ).toBe(201);
      const failing = cluster.engines.get('calc-1')!;
      failing.setServing(false);
      const listed = await waitFor(
        async () => (await am!.alerts()).find((a) => a.labels.rule === 'down'),
        'the alert in Alertmanager',
      );
      expect(listed.labels).toEqual({
        alertname: 'down',
        rule: 'down',
        severity: 'warning',
        engine: 'calc',
        instance: 'calc-1',
      });
      expect(listed.status.state).toBe('active');
      expect(listed.annotations.summary).toMatch(/calc-1/);
      // Still firing: sent again, so Alertmanager's end moves on and it never resolves it by itself.
      await waitFor(
        async () => (await am!.alerts()).some((a) => a.labels.rule === 'down' && a.endsAt > listed.endsAt),
        'a resend moving endsAt on',
      );
      failing.setServing(true);
      await waitFor(
        async () => !(await am!.alerts('active=true')).some((a) => a.labels.rule === 'down'),
        'the alert resolved in Alertmanager',
      );
    },
    30_000,
  );
});

/** The routing tree and time intervals over REST, with a real instance failing its probe. */
describe('alert routing tree over REST', () => {
  let cluster: TestCluster;
  let team: Awaited<ReturnType<typeof startReceiver>>;
  let fallback: Awaited<ReturnType<typeof startReceiver>>;

  const rest = (method: string, path: string, body?: unknown) => restOn(cluster.apiBase, method, path, body);

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 2 }], 100, {
      controlPlane: { alertEvalMs: 100 },
    });
    team = await startReceiver();
    fallback = await startReceiver();
  });
  afterAll(async () => {
    await team?.close();
    await fallback?.close();
    await cluster?.stop();
  });

  it('sends an alert down the branch its labels match, held while a time interval mutes the branch', async () => {
    for (const [name, r] of [
      ['team', team],
      ['fallback', fallback],
    ] as const)
      expect(
        (await rest('POST', '/notification-channels', { name, type: 'webhook', url: r.url })).status,
      ).toBe(201);
    // Always: every day, all day (UTC).
    expect(
      (
        await rest('POST', '/time-intervals', {
          name: 'always',
          intervals: [{ times: [{ start: '00:00', end: '24:00' }] }],
        })
      ).status,
    ).toBe(201);
    const bad = await rest('POST', '/time-intervals', { name: 'bad', intervals: [{ weekdays: ['funday'] }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/funday/);
    const tree = await rest('PUT', '/alert-routes/root', {
      name: 'root',
      channels: ['fallback'],
      groupWaitMs: 100,
      groupIntervalMs: 1_000,
      routes: [
        {
          matchers: [{ label: 'team', value: 'math' }],
          channels: ['team'],
          groupBy: ['engine'],
          muteTimeIntervals: ['always'],
        },
      ],
    });
    expect(tree.status).toBe(200);
    expect((await rest('GET', '/alert-routes/root')).body).toMatchObject({ channels: ['fallback'] });
    expect(
      (
        await rest('POST', '/alert-rules', {
          id: 'math-down',
          name: 'math instance down',
          severity: 'warning',
          event: 'instance_down',
          labels: { team: 'math' },
        })
      ).status,
    ).toBe(201);
    cluster.engines.get('calc-2')!.setServing(false);
    await waitFor(
      async () =>
        ((await rest('GET', '/alerts?state=firing')).body.alerts as { rule: string }[]).some(
          (a) => a.rule === 'math-down',
        ),
      'the alert firing',
    );
    // Muted: several evaluations pass and nothing is sent anywhere (the fallback is not the branch's).
    const evaluated = Date.now();
    await waitFor(() => Date.now() - evaluated > 600, 'evaluations to pass');
    expect(team.received).toEqual([]);
    expect(fallback.received).toEqual([]);
    // The mute is lifted: the branch's group goes out, grouped by engine, and only to the branch.
    const patched = await rest('PATCH', '/alert-routes/root', {
      routes: [{ matchers: [{ label: 'team', value: 'math' }], channels: ['team'], groupBy: ['engine'] }],
    });
    expect(patched.status).toBe(200);
    const told = await waitFor(() => team.received[0], 'the branch notified');
    expect(told.body).toMatchObject({ status: 'firing', receiver: 'team', groupLabels: { engine: 'calc' } });
    expect(told.body.alerts[0].labels).toMatchObject({ alertname: 'math-down', instance: 'calc-2' });
    expect(fallback.received).toEqual([]);
    cluster.engines.get('calc-2')!.setServing(true);
  });

  it('imports an Alertmanager configuration over REST (dry run first) and names what it left out', async () => {
    const post = async (query: string, body: string) => {
      const res = await fetch(`${cluster.apiBase}/alerting/alertmanager-config${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/yaml' },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const before = (await rest('GET', '/alert-routes/root')).body;
    const dry = await post('?dryRun=true', ALERTMANAGER_SAMPLE);
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    const changes = dry.body.changes as { kind: string; name: string; change: string }[];
    expect(changes).toEqual(
      expect.arrayContaining([
        { kind: 'notification-channels', name: 'pager', change: 'added' },
        { kind: 'alert-routes', name: 'root', change: 'changed' },
        { kind: 'inhibit-rules', name: 'inhibit-1', change: 'added' },
        { kind: 'time-intervals', name: 'office-hours', change: 'added' },
      ]),
    );
    expect((dry.body.notes as string[]).join('\n')).toMatch(/opsgenie_configs not carried over/);
    expect((await rest('GET', '/alert-routes/root')).body).toEqual(before); // a dry run writes nothing

    const bad = await post('', 'route:\n  receiver: nobody\n');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/no receiver named \\"nobody\\"/);
    expect((await rest('GET', '/alert-routes/root')).body).toEqual(before);

    const done = await post('', ALERTMANAGER_SAMPLE);
    expect(done.status).toBe(200);
    expect(done.body.version).toBeGreaterThan(0);
    expect((await rest('GET', '/alert-routes/root')).body).toMatchObject({
      channels: ['ops-team-webhook-1', 'ops-team-slack-1'],
      groupWaitMs: 45_000,
    });
    expect((await rest('GET', '/notification-channels/pager')).body).toMatchObject({
      type: 'pagerduty',
      routingKey: '***',
    });
    // The same again changes nothing.
    const again = await post('', ALERTMANAGER_SAMPLE);
    expect((again.body.changes as { change: string }[]).every((c) => c.change === 'unchanged')).toBe(true);
    expect(again.body.version).toBe(done.body.version);
  });

  amtool.it('exports the alerting configuration as Alertmanager YAML that amtool accepts', async () => {
    const res = await fetch(`${cluster.apiBase}/alerting/config?format=alertmanager`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/yaml/);
    const yaml = await res.text();
    expect(yaml).toMatch(/routing_key: 0123456789abcdef0123456789abcdef/); // admins get secrets whole
    expect(amtoolCheck(yaml)).toBe('');
    expect((await rest('GET', '/alerting/config?format=json')).status).toBe(400);
  });

  it('nerve alerts import-alertmanager talks to a control plane', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nerve-am-')), 'alertmanager.yml');
    writeFileSync(file, ALERTMANAGER_SAMPLE);
    const p = spawnNerve(['alerts', 'import-alertmanager', file, '--dry-run', '--api', cluster.apiBase]);
    expect((await p.exited()).code).toBe(0);
    expect(p.stdout()).toMatch(/unchanged notification-channels\/pager/);
    expect(p.stdout()).toMatch(/note: receivers\[2\] "dba": opsgenie_configs not carried over/);
    expect(p.stdout()).toMatch(/dry run: readable, 0 change\(s\) would be applied/);
  });
});

/** An alert that acts: a real instance fails its probe, the rule drains it, and undoes it on recovery. */
describe('alerts that act', () => {
  let cluster: TestCluster;

  const rest = (method: string, path: string, body?: unknown) => restOn(cluster.apiBase, method, path, body);
  const instanceOf = async (id: string) => {
    const { engine } = (await rest('GET', '/engines/calc')).body as {
      engine: { instances: { id: string; draining: boolean }[] };
    };
    return engine.instances.find((i) => i.id === id)!;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 3 }], 100, {
      controlPlane: { alertEvalMs: 100 },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('drains a failing instance as an audited, versioned change by alert:<rule>, and undoes it on recovery', async () => {
    expect(
      (
        await rest('POST', '/alert-rules', {
          id: 'drain-failing',
          name: 'drain failing instances',
          severity: 'critical',
          event: 'instance_down',
          actions: [{ type: 'drain', minHealthy: 2, maxPerHour: 2, undoOnResolve: true }],
        })
      ).status,
    ).toBe(201);
    cluster.engines.get('calc-2')!.setServing(false);
    await waitFor(async () => (await instanceOf('calc-2')).draining, 'calc-2 drained by the alert');
    const history = (await rest('GET', '/config/history?limit=5')).body.versions as {
      actor: string;
      summary: string;
    }[];
    expect(history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actor: 'alert:drain-failing', summary: 'drain calc/calc-2' }),
      ]),
    );
    const firing = await waitFor(async () => {
      const alerts = (await rest('GET', '/alerts?state=firing')).body.alerts as {
        instance: string;
        actions: { type: string; state: string; configVersion: number | null }[];
      }[];
      const a = alerts.find((x) => x.instance === 'calc-2');
      return a?.actions[0]?.state === 'done' && a;
    }, 'the action shown on the alert');
    expect(firing.actions[0]).toMatchObject({ type: 'drain', state: 'done' });
    expect(firing.actions[0].configVersion).toBeGreaterThan(0);
    // Drained, its probe still fails: the alert stays firing, nothing undone, nothing taken twice.
    const settled = Date.now();
    await waitFor(() => Date.now() - settled > 500, 'evaluations to pass');
    expect((await instanceOf('calc-2')).draining).toBe(true);

    // A second failure would leave one healthy instance, below minHealthy 2: refused, and said so.
    cluster.engines.get('calc-3')!.setServing(false);
    const refused = await waitFor(async () => {
      const alerts = (await rest('GET', '/alerts?state=firing')).body.alerts as {
        instance: string;
        actions: { state: string; reason: string }[];
      }[];
      return alerts.find((x) => x.instance === 'calc-3')?.actions[0];
    }, 'the second action');
    expect(refused).toMatchObject({
      state: 'refused',
      reason: 'would leave 1 healthy instances of calc, below minHealthy 2',
    });
    expect((await instanceOf('calc-3')).draining).toBe(false);
    cluster.engines.get('calc-3')!.setServing(true);

    cluster.engines.get('calc-2')!.setServing(true);
    await waitFor(async () => !(await instanceOf('calc-2')).draining, 'calc-2 undrained on recovery');
    const events = (await rest('GET', '/engines/calc/events')).body.events as {
      kind: string;
      message: string;
    }[];
    expect(events.filter((e) => e.kind === 'alert_action').map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'alert drain-failing: drain calc/calc-2',
        'alert drain-failing: undone (the alert resolved): drain calc/calc-2',
      ]),
    );
  });
});
