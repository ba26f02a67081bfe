import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  useReactFlow,
  type Edge,
  type OnConnect,
  type OnEdgesChange,
  type OnNodesChange,
} from '@xyflow/react';
import { useEffect, useState } from 'react';
import { KINDS, kindOf, type DesignNode } from '../canvas';
import DesignNodeView from './DesignNodeView';
import { KindIcon } from './icons';

const nodeTypes = { design: DesignNodeView };

const MINIMAP_COLORS: Record<string, string> = {
  service: '#6366f1',
  database: '#0ea5e9',
  cache: '#f59e0b',
  load_balancer: '#8b5cf6',
  queue: '#ec4899',
  frontend: '#14b8a6',
  monitoring: '#ef4444',
  gateway: '#64748b',
};

interface Props {
  nodes: DesignNode[];
  edges: Edge[];
  onNodesChange: OnNodesChange<DesignNode>;
  onEdgesChange: OnEdgesChange;
  onConnect: OnConnect;
  onAdd: (type: string) => void;
  onDeleteSelected: () => void;
  onLayout: () => void;
  onSave: () => void;
  dirty: boolean;
  saving: boolean;
  version: number;
  fitKey: number;
  busy: boolean;
}

function FitOnChange({ fitKey }: { fitKey: number }) {
  const rf = useReactFlow();
  useEffect(() => {
    const t = setTimeout(() => void rf.fitView({ padding: 0.18, duration: 250, maxZoom: 1.15 }), 30);
    return () => clearTimeout(t);
  }, [fitKey, rf]);
  return null;
}

export default function CanvasView(p: Props) {
  const [palette, setPalette] = useState(false);
  const hasSelection = p.nodes.some((n) => n.selected) || p.edges.some((e) => e.selected);
  return (
    <div className="canvas-wrap" data-testid="canvas">
      <ReactFlow
        nodes={p.nodes}
        edges={p.edges}
        nodeTypes={nodeTypes}
        onNodesChange={p.onNodesChange}
        onEdgesChange={p.onEdgesChange}
        onConnect={p.onConnect}
        deleteKeyCode={['Delete', 'Backspace']}
        defaultEdgeOptions={{ type: 'smoothstep' }}
        minZoom={0.2}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
        fitView
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="#cbd5e1" />
        <Controls showInteractive={false} position="bottom-left" />
        <MiniMap
          pannable
          zoomable
          style={{ width: 150, height: 96 }}
          position="bottom-right"
          nodeColor={(n) => MINIMAP_COLORS[kindOf(String((n.data as { kind?: string }).kind ?? ''))] ?? '#94a3b8'}
          maskColor="rgba(241,245,249,0.7)"
        />
        <FitOnChange fitKey={p.fitKey} />
        <Panel position="top-left">
          <div className="canvas-toolbar">
          <div className="tb-group">
            <button className="tb-btn" onClick={() => setPalette((v) => !v)} data-testid="add-node" title="Add a component">
              + Add
            </button>
            <button className="tb-btn" onClick={p.onDeleteSelected} disabled={!hasSelection} title="Delete the selection (Del)">
              Delete
            </button>
            <button className="tb-btn" onClick={p.onLayout} title="Arrange automatically">
              Tidy
            </button>
          </div>
          <div className="tb-group">
            <span className="tb-version" data-testid="canvas-version">
              v{p.version}
              {p.dirty ? ' · edited' : ''}
            </span>
            <button
              className="tb-btn primary"
              onClick={p.onSave}
              disabled={!p.dirty || p.saving || p.busy}
              data-testid="save-canvas"
              title="Save the canvas as a new version"
            >
              {p.saving ? 'Saving…' : 'Save version'}
            </button>
          </div>
          {palette && (
            <div className="palette" role="menu">
              {KINDS.map((k) => (
                <button
                  key={k.type}
                  className={`palette-item kind-${k.type}`}
                  onClick={() => {
                    p.onAdd(k.type);
                    setPalette(false);
                  }}
                  data-testid={`add-${k.type}`}
                >
                  <span className="palette-icon">
                    <KindIcon kind={k.type} size={16} />
                  </span>
                  {k.label}
                </button>
              ))}
            </div>
          )}
          </div>
        </Panel>
        {p.nodes.length === 0 && (
          <Panel position="top-center" className="canvas-empty">
            <div className="empty-title">Your architecture appears here</div>
            <div className="empty-text">
              Describe a system in the request box, or add components by hand with <b>+ Add</b>.
            </div>
          </Panel>
        )}
      </ReactFlow>
    </div>
  );
}
