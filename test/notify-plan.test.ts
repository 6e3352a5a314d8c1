/**
 * The pure rules of which notifications a pull request's session is due
 * (src/core/notify-plan.ts): once per event, once per count, once per
 * escalation interval, only while short of approvals, never for a closed one.
 */
import { describe, expect, it } from 'vitest';
import { escalationRound, planSession, type PullSession } from '../src/core/notify-plan.js';

const T0 = Date.parse('2026-11-21T02:00:00Z');
const min = (m: number) => T0 + m * 60_000;
const channels = [{ name: 'slack' }, { name: 'pager', events: ['requested' as const] }, { name: 'mail' }];
const pending = (have = 0, escalate: PullSession['escalate'] = { after: '10m', notify: ['pager', 'mail'] }): PullSession => ({ id: 'inc-1', status: 'pending', approvals: { have, need: 2 }, escalate });

describe('which notifications a session is due', () => {
  it('requested to every channel that takes it; nothing again once acknowledged', () => {
    expect(planSession(pending(), {}, channels, min(0), min(1)).due).toEqual([{ key: 'requested', type: 'requested', channels: ['slack', 'pager', 'mail'] }]);
    expect(planSession(pending(), { requested: ['slack', 'pager', 'mail'] }, channels, min(0), min(1)).due).toEqual([]);
  });

  it('retries only the channels that did not acknowledge', () => {
    expect(planSession(pending(), { requested: ['slack'] }, channels, min(0), min(1)).due).toEqual([{ key: 'requested', type: 'requested', channels: ['pager', 'mail'] }]);
  });

  it('approval-added once per new count, to the channels whose events include it', () => {
    const sent = { requested: ['slack', 'pager', 'mail'], 'approval-added:1': ['slack', 'mail'] };
    expect(planSession(pending(1), sent, channels, min(0), min(1)).due).toEqual([]);
    expect(planSession({ ...pending(2), status: 'pending' }, sent, channels, min(0), min(1)).due).toEqual([{ key: 'approval-added:2', type: 'approval-added', channels: ['slack', 'mail'] }]);
  });

  it('escalates once per interval, to the policy\'s channels only, whatever their events filter', () => {
    const base = { requested: ['slack', 'pager', 'mail'] };
    expect(planSession(pending(), base, channels, min(0), min(9)).due).toEqual([]);
    const first = planSession(pending(), base, channels, min(0), min(10));
    expect(first.due).toEqual([{ key: 'escalated:1', type: 'escalated', channels: ['pager', 'mail'], escalation: { after: '10m', round: 1 } }]);
    expect(planSession(pending(), { ...base, 'escalated:1': ['pager', 'mail'] }, channels, min(0), min(19)).due).toEqual([]);
    expect(planSession(pending(), { ...base, 'escalated:1': ['pager', 'mail'] }, channels, min(0), min(20)).due.map((d) => d.key)).toEqual(['escalated:2']);
    // A scan that ran late sends the current round once, not every missed one.
    expect(planSession(pending(), base, channels, min(0), min(55)).due.map((d) => d.key)).toEqual(['escalated:5']);
  });

  it('never escalates a request that has enough approvals, is rejected, ended or recorded', () => {
    const sent = { requested: ['slack', 'pager', 'mail'], 'approval-added:2': ['slack', 'mail'] };
    expect(planSession(pending(2), sent, channels, min(0), min(30)).due).toEqual([]);
    for (const status of ['rejected', 'ended', 'recorded', 'invalid'] as const) {
      expect(planSession({ ...pending(), status }, { ...sent, rejected: ['slack', 'pager', 'mail'] }, channels, min(0), min(30)).due.filter((d) => d.type === 'escalated')).toEqual([]);
    }
  });

  it('reports escalation names that are not configured, and still escalates to the rest', () => {
    const p = planSession(pending(0, { after: '10m', notify: ['pager', 'nobody'] }), { requested: ['slack', 'pager', 'mail'] }, channels, min(0), min(10));
    expect(p.unknown).toEqual(['nobody']);
    expect(p.due.map((d) => d.channels)).toEqual([['pager']]);
  });

  it('keeps in memory only the keys still current', () => {
    expect(planSession(pending(2), {}, channels, min(0), min(25)).current).toEqual(['requested', 'approval-added:2']);
    expect(planSession(pending(1), {}, channels, min(0), min(25)).current).toEqual(['requested', 'approval-added:1', 'escalated:2']);
  });

  it('counts rounds from the pull request\'s opening, never before it', () => {
    expect([escalationRound(min(0), '10m', min(-5)), escalationRound(min(0), '10m', min(9)), escalationRound(min(0), '10m', min(10)), escalationRound(min(0), '1h30m', min(180))]).toEqual([0, 0, 1, 2]);
  });
});
