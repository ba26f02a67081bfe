// The canvas: the server's {nodes, edges} and React Flow's, automatic layout
// with dagre, and the run's updates applied as tasks complete.

import dagre from '@dagrejs/dagre';
import type { Edge, Node } from '@xyflow/react';
import type { Canvas, CanvasEdge, CanvasNode } from './api';

export type Highlight = 'new' | 'changed';
export interface NodeData extends Record<string, unknown> {
  label: string;
  kind: string;
  config: Record<string, unknown>;
  highlight?: Highlight;
}
export type DesignNode = Node<NodeData, 'design'>;

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 68;

/** The palette of node kinds the user can add, with the server's type names. */
export const KINDS: { type: string; label: string }[] = [
  { type: 'service', label: 'Service' },
  { type: 'database', label: 'Database' },
  { type: 'cache', label: 'Cache' },
  { type: 'load_balancer', label: 'Load balancer' },
  { type: 'queue', label: 'Queue' },
  { type: 'frontend', label: 'Frontend' },
  { type: 'monitoring', label: 'Monitoring' },
  { type: 'gateway', label: 'API gateway' },
  { type: 'storage', label: 'Storage' },
];

/** Groups the many type names a canvas may use into the kinds drawn distinctly. */
export function kindOf(type: string): string {
  const t = type.toLowerCase().replace(/[-\s]/g, '_');
  if (t.includes('load_balancer') || t === 'lb' || t.includes('nginx') || t.includes('haproxy')) return 'load_balancer';
  if (t.includes('cache') || t.includes('redis')) return 'cache';
  if (t.includes('database') || t === 'db' || t.includes('replica') || t.includes('sql') || t.includes('mongo')) return 'database';
  if (t.includes('queue') || t.includes('kafka') || t.includes('broker') || t.includes('stream')) return 'queue';
  if (t.includes('frontend') || t.includes('client') || t.includes('web') || t.includes('ui')) return 'frontend';
  if (t.includes('monitor') || t.includes('alert') || t.includes('metric') || t.includes('observab')) return 'monitoring';
  if (t.includes('gateway')) return 'gateway';
  if (t.includes('storage') || t.includes('bucket') || t.includes('s3')) return 'storage';
  if (t.includes('search')) return 'search';
  if (t.includes('cdn')) return 'cdn';
  return 'service';
}

export function toFlow(canvas: Canvas, highlights: Map<string, Highlight> = new Map()): { nodes: DesignNode[]; edges: Edge[] } {
  const nodes: DesignNode[] = canvas.nodes.map((n) => ({
    id: n.id,
    type: 'design',
    position: n.position ? { x: n.position.x, y: n.position.y } : { x: 0, y: 0 },
    data: { label: n.label || n.id, kind: n.type, config: n.config ?? {}, highlight: highlights.get(n.id) },
  }));
  const ids = new Set(nodes.map((n) => n.id));
  const edges: Edge[] = canvas.edges
    .filter((e) => ids.has(e.source) && ids.has(e.target))
    .map((e) => flowEdge(e));
  return { nodes, edges };
}

export function flowEdge(e: CanvasEdge): Edge {
  return {
    id: e.id,
    source: e.source,
    target: e.target,
    data: { kind: e.type ?? 'api-call' },
    label: e.type && e.type !== 'api-call' ? e.type : undefined,
    animated: e.type === 'async' || e.type === 'event' || e.type === 'publish',
  };
}

export function fromFlow(nodes: DesignNode[], edges: Edge[]): Canvas {
  return {
    nodes: nodes.map<CanvasNode>((n) => ({
      id: n.id,
      type: n.data.kind,
      label: n.data.label,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      config: n.data.config,
    })),
    edges: edges.map<CanvasEdge>((e) => ({
      id: e.id,
      source: e.source,
      target: e.target,
      type: ((e.data as { kind?: string } | undefined)?.kind as string) ?? 'api-call',
    })),
  };
}

/** Top-down layered layout (dagre), the way an architecture diagram reads. */
export function layout(nodes: DesignNode[], edges: Edge[]): DesignNode[] {
  if (nodes.length === 0) return nodes;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 36, ranksep: 64, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    return p ? { ...n, position: { x: p.x - NODE_WIDTH / 2, y: p.y - NODE_HEIGHT / 2 } } : n;
  });
}

/** True when stored positions are missing or pile up: then the canvas is laid out on load. */
export function needsLayout(nodes: DesignNode[]): boolean {
  if (nodes.length < 2) return false;
  const seen = new Set<string>();
  for (const n of nodes) {
    const key = `${Math.round(n.position.x / 40)}:${Math.round(n.position.y / 30)}`;
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

export interface CanvasUpdate {
  nodes?: CanvasNode[];
  edges?: CanvasEdge[];
}

/** Applies a task's canvas changes; returns the new graph and which nodes are new or changed. */
export function applyUpdate(
  nodes: DesignNode[],
  edges: Edge[],
  update: CanvasUpdate | undefined,
  removeNodes: string[] | undefined,
): { nodes: DesignNode[]; edges: Edge[]; touched: Map<string, Highlight> } {
  const touched = new Map<string, Highlight>();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const id of removeNodes ?? []) byId.delete(id);
  for (const n of update?.nodes ?? []) {
    const prior = byId.get(n.id);
    const data: NodeData = { label: n.label || n.id, kind: n.type, config: n.config ?? {} };
    if (prior) {
      const changed =
        prior.data.label !== data.label || prior.data.kind !== data.kind ||
        JSON.stringify(prior.data.config) !== JSON.stringify(data.config);
      const mark: Highlight | undefined = changed && prior.data.highlight !== 'new' ? 'changed' : prior.data.highlight;
      if (changed) touched.set(n.id, mark ?? 'changed');
      byId.set(n.id, { ...prior, data: { ...data, highlight: mark } });
    } else {
      touched.set(n.id, 'new');
      byId.set(n.id, { id: n.id, type: 'design', position: n.position ?? { x: 0, y: 0 }, data: { ...data, highlight: 'new' } });
    }
  }
  const edgeById = new Map(edges.map((e) => [e.id, e]));
  for (const e of update?.edges ?? []) {
    // A task names a new connection by its ends ("a->b") until the merger
    // names it in the saved canvas; one already drawn between the same ends,
    // under its saved id, is the same connection.
    for (const [k, old] of edgeById) if (k !== e.id && old.source === e.source && old.target === e.target) edgeById.delete(k);
    edgeById.set(e.id, flowEdge(e));
  }
  const live = new Set(byId.keys());
  const nextEdges = [...edgeById.values()].filter((e) => live.has(e.source) && live.has(e.target));
  return { nodes: [...byId.values()], edges: nextEdges, touched };
}

export function clearHighlights(nodes: DesignNode[]): DesignNode[] {
  return nodes.map((n) => (n.data.highlight ? { ...n, data: { ...n.data, highlight: undefined } } : n));
}
