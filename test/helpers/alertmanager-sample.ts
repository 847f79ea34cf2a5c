/**
 * An Alertmanager configuration as a team runs it (checked by `amtool check-config` in the tests):
 * every receiver kind Nerve carries, one it does not, deprecated and current matchers, nested routes
 * with `continue`, inhibit rules of both forms, and time intervals of both sections.
 */
export const ALERTMANAGER_SAMPLE = `global:
  resolve_timeout: 5m
  smtp_smarthost: 'mail.example.org:587'
  smtp_from: 'Alerts <alerts@example.org>'
  smtp_auth_username: alerts
  smtp_auth_password: s3cret
  slack_api_url: 'https://hooks.slack.example/services/T0/B0/abc'
templates:
  - '/etc/alertmanager/templates/*.tmpl'
route:
  receiver: Ops-Team
  group_by: [alertname, engine]
  group_wait: 45s
  group_interval: 10m
  repeat_interval: 1h30m
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
    - match:
        team: db
      match_re:
        engine: 'pg.*'
      receiver: dba
      group_by: ['...']
      mute_time_intervals: [weekends]
      routes:
        - matchers: ['instance=~"pg-[0-9]+"', 'severity!="info"']
          receiver: dba
          active_time_intervals: [office-hours]
receivers:
  - name: Ops-Team
    webhook_configs:
      - url: 'http://hooks.example.org/alerts'
        send_resolved: true
    slack_configs:
      - channel: '#ops'
        send_resolved: true
  - name: pager
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
  - name: dba
    email_configs:
      - to: 'dba@example.org, oncall@example.org'
    opsgenie_configs:
      - api_key: key
inhibit_rules:
  - source_matchers: ['alertname="engine-down"']
    target_matchers: ['instance=~".+"']
    equal: [engine]
  - source_match:
      severity: critical
    target_match:
      severity: warning
    equal: [engine, instance]
time_intervals:
  - name: office-hours
    time_intervals:
      - weekdays: ['monday:friday']
        times:
          - start_time: '09:00'
            end_time: '17:00'
        location: 'Europe/Berlin'
mute_time_intervals:
  - name: weekends
    time_intervals:
      - weekdays: ['saturday', 'sunday']
`;
