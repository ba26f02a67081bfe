import type { Edge } from '@xyflow/react';
import { kindOf, type DesignNode } from '../canvas';
import { KindIcon } from './icons';

interface Props {
  node: DesignNode | null;
  nodes: DesignNode[];
  edges: Edge[];
  onRename: (id: string, label: string) => void;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export default function Inspector({ node, nodes, edges, onRename }: Props) {
  if (!node) {
    const kinds = new Map<string, number>();
    for (const n of nodes) kinds.set(kindOf(n.data.kind), (kinds.get(kindOf(n.data.kind)) ?? 0) + 1);
    return (
      <div className="side-empty">
        <div className="empty-title small">{nodes.length ? `${nodes.length} components, ${edges.length} connections` : 'Nothing selected'}</div>
        <div className="muted">Select a component on the canvas to see its configuration.</div>
        {kinds.size > 0 && (
          <div className="kind-counts">
            {[...kinds.entries()].map(([k, n]) => (
              <span key={k} className={`kind-count kind-${k}`}>
                <KindIcon kind={k} size={14} /> {n} {k.replace('_', ' ')}
              </span>
            ))}
          </div>
        )}
      </div>
    );
  }
  const label = (id: string) => nodes.find((n) => n.id === id)?.data.label ?? id;
  const incoming = edges.filter((e) => e.target === node.id);
  const outgoing = edges.filter((e) => e.source === node.id);
  const kind = kindOf(node.data.kind);
  const config = Object.entries(node.data.config ?? {});
  return (
    <div className="inspector" data-testid="inspector">
      <div className={`inspector-head kind-${kind}`}>
        <span className="inspector-icon">
          <KindIcon kind={kind} size={20} />
        </span>
        <div>
          <input
            className="inspector-title"
            value={node.data.label}
            onChange={(e) => onRename(node.id, e.target.value)}
            aria-label="Name"
          />
          <div className="muted small-text">
            {node.data.kind} · <code>{node.id}</code>
          </div>
        </div>
      </div>
      {node.data.highlight && (
        <div className={`hl-note ${node.data.highlight}`}>
          {node.data.highlight === 'new' ? 'Added by the last run' : 'Changed by the last run'}
        </div>
      )}
      <div className="section-title">Configuration</div>
      {config.length === 0 ? (
        <div className="muted">No configuration.</div>
      ) : (
        <dl className="config" data-testid="node-config">
          {config.map(([k, v]) => (
            <div className="config-row" key={k}>
              <dt>{k}</dt>
              <dd>{show(v)}</dd>
            </div>
          ))}
        </dl>
      )}
      <div className="section-title">Connections</div>
      <ul className="conn-list">
        {incoming.map((e) => (
          <li key={e.id}>← {label(e.source)}</li>
        ))}
        {outgoing.map((e) => (
          <li key={e.id}>→ {label(e.target)}</li>
        ))}
        {incoming.length + outgoing.length === 0 && <li className="muted">none</li>}
      </ul>
    </div>
  );
}
