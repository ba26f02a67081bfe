import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { kindOf, type DesignNode } from '../canvas';
import { KindIcon } from './icons';

const KIND_LABEL: Record<string, string> = {
  service: 'Service',
  database: 'Database',
  cache: 'Cache',
  load_balancer: 'Load balancer',
  queue: 'Queue',
  frontend: 'Frontend',
  monitoring: 'Monitoring',
  gateway: 'Gateway',
  storage: 'Storage',
  search: 'Search',
  cdn: 'CDN',
};

/** The one line of config worth reading on the node itself. */
function badge(config: Record<string, unknown>): string | null {
  const n = config.instances ?? config.replicas ?? config.nodes;
  if (typeof n === 'number' && n > 1) return `×${n}`;
  return null;
}

function DesignNodeView({ data, selected }: NodeProps<DesignNode>) {
  const kind = kindOf(data.kind);
  const b = badge(data.config);
  return (
    <div
      className={`dnode kind-${kind}${selected ? ' selected' : ''}${data.highlight ? ` hl-${data.highlight}` : ''}`}
      data-testid={`node-${data.label}`}
      data-node-kind={kind}
      data-highlight={data.highlight ?? ''}
    >
      <Handle type="target" position={Position.Top} />
      <div className="dnode-icon">
        <KindIcon kind={kind} />
      </div>
      <div className="dnode-text">
        <div className="dnode-label" title={data.label}>
          {data.label}
        </div>
        <div className="dnode-kind">{KIND_LABEL[kind] ?? data.kind}{data.kind !== kind && kind === 'service' && data.kind !== 'service' ? ` · ${data.kind}` : ''}</div>
      </div>
      {b && <div className="dnode-badge">{b}</div>}
      {data.highlight && <div className={`dnode-flag flag-${data.highlight}`}>{data.highlight === 'new' ? 'new' : 'changed'}</div>}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

export default memo(DesignNodeView);
