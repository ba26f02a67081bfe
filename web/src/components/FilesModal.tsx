import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import dockerfile from 'highlight.js/lib/languages/dockerfile';
import ini from 'highlight.js/lib/languages/ini';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import nginx from 'highlight.js/lib/languages/nginx';
import python from 'highlight.js/lib/languages/python';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { useEffect, useMemo, useState } from 'react';
import { api, ApiError, type FileEntry } from '../api';
import { useAccess } from '../session';
import { LockIcon } from './icons';
import Modal from './Modal';

hljs.registerLanguage('bash', bash);
hljs.registerLanguage('css', css);
hljs.registerLanguage('dockerfile', dockerfile);
hljs.registerLanguage('ini', ini);
hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('json', json);
hljs.registerLanguage('markdown', markdown);
hljs.registerLanguage('nginx', nginx);
hljs.registerLanguage('python', python);
hljs.registerLanguage('sql', sql);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('xml', xml);
hljs.registerLanguage('yaml', yaml);

function languageOf(path: string): string | null {
  const base = path.split('/').pop() ?? path;
  if (/^Dockerfile/i.test(base)) return 'dockerfile';
  if (base === 'nginx.conf' || path.includes('nginx')) return 'nginx';
  const ext = base.includes('.') ? base.split('.').pop()!.toLowerCase() : '';
  const map: Record<string, string> = {
    js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript', ts: 'typescript', tsx: 'typescript',
    json: 'json', sql: 'sql', yml: 'yaml', yaml: 'yaml', py: 'python', sh: 'bash', html: 'xml', xml: 'xml',
    css: 'css', md: 'markdown', conf: 'ini', ini: 'ini', toml: 'ini', env: 'bash', mmd: 'markdown', txt: '',
  };
  return map[ext] || null;
}

interface TreeNode {
  name: string;
  path: string;
  children: Map<string, TreeNode>;
  file?: FileEntry;
}

function buildTree(files: FileEntry[]): TreeNode {
  const root: TreeNode = { name: '', path: '', children: new Map() };
  for (const f of files) {
    let cur = root;
    const parts = f.path.split('/');
    parts.forEach((part, i) => {
      const path = parts.slice(0, i + 1).join('/');
      if (!cur.children.has(part)) cur.children.set(part, { name: part, path, children: new Map() });
      cur = cur.children.get(part)!;
      if (i === parts.length - 1) cur.file = f;
    });
  }
  return root;
}

function Tree({ node, depth, selected, onPick, open, toggle }: {
  node: TreeNode; depth: number; selected: string | null; onPick: (p: string) => void; open: Set<string>; toggle: (p: string) => void;
}) {
  const entries = [...node.children.values()].sort((a, b) =>
    (a.file ? 1 : 0) - (b.file ? 1 : 0) || a.name.localeCompare(b.name));
  return (
    <>
      {entries.map((c) =>
        c.file ? (
          <button
            key={c.path}
            className={`tree-file${selected === c.path ? ' active' : ''}`}
            style={{ paddingLeft: 12 + depth * 14 }}
            onClick={() => onPick(c.path)}
            data-testid={`file-${c.path}`}
          >
            {c.name}
          </button>
        ) : (
          <div key={c.path}>
            <button className="tree-dir" style={{ paddingLeft: 8 + depth * 14 }} onClick={() => toggle(c.path)}>
              <span className="caret">{open.has(c.path) ? '▾' : '▸'}</span> {c.name}
            </button>
            {open.has(c.path) && <Tree node={c} depth={depth + 1} selected={selected} onPick={onPick} open={open} toggle={toggle} />}
          </div>
        ),
      )}
    </>
  );
}

export default function FilesModal({ executionId, onClose }: { executionId: string; onClose: () => void }) {
  const [files, setFiles] = useState<FileEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [content, setContent] = useState<string>('');
  const [open, setOpen] = useState<Set<string>>(new Set());
  const zipDenied = useAccess().denied('files:export');

  useEffect(() => {
    api.files(executionId).then(
      (r) => {
        setFiles(r.files);
        setOpen(new Set(r.files.map((f) => f.path.split('/').slice(0, -1)).filter((p) => p.length > 0).map((p) => p[0])));
        const first = r.files.find((f) => f.path.endsWith('.sql')) ?? r.files[0];
        if (first) setSelected(first.path);
      },
      (e) => setError(e instanceof ApiError ? e.readable : String(e)),
    );
  }, [executionId]);

  useEffect(() => {
    if (!selected) return;
    let live = true;
    api.file(executionId, selected).then(
      (text) => live && setContent(text),
      (e) => live && setContent(`Could not load this file: ${e instanceof ApiError ? e.readable : String(e)}`),
    );
    return () => {
      live = false;
    };
  }, [executionId, selected]);

  const tree = useMemo(() => buildTree(files ?? []), [files]);
  const html = useMemo(() => {
    if (!selected) return '';
    const lang = languageOf(selected);
    try {
      return lang ? hljs.highlight(content, { language: lang }).value : hljs.highlightAuto(content, ['json', 'yaml', 'bash', 'javascript']).value;
    } catch {
      return content.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
    }
  }, [content, selected]);

  const download = async () => {
    try {
      const blob = await api.zip(executionId);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `${executionId}.zip`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (e) {
      setError(e instanceof ApiError ? e.readable : String(e));
    }
  };

  const toggle = (p: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(p)) n.delete(p);
      else n.add(p);
      return n;
    });

  return (
    <Modal
      title={<>Generated files {files && <span className="muted">· {files.length}</span>}</>}
      onClose={onClose}
      wide
      testId="files-modal"
      actions={
        <span className="edit-wrap" title={zipDenied ?? 'All the files in one zip'}>
          <button
            className="btn small"
            onClick={download}
            disabled={!!zipDenied}
            title={zipDenied ?? 'All the files in one zip'}
            data-testid="download-zip"
            data-denied={zipDenied ?? undefined}
          >
            {zipDenied && <LockIcon />} Download .zip
          </button>
        </span>
      }
    >
      {error && <div className="alert bad" role="alert" data-testid="files-error">{error}</div>}
      {zipDenied && !error && (
        <div className="note" data-testid="zip-note">
          <LockIcon /> {zipDenied}: browse the files here, one by one.
        </div>
      )}
      <div className="files">
        <div className="files-tree" data-testid="file-tree">
          {!files && !error && <div className="muted pad">Loading…</div>}
          {files && files.length === 0 && <div className="muted pad">No files were generated.</div>}
          <Tree node={tree} depth={0} selected={selected} onPick={setSelected} open={open} toggle={toggle} />
        </div>
        <div className="files-view">
          {selected && <div className="files-path">{selected}</div>}
          <pre className="code hljs" data-testid="file-view">
            <code dangerouslySetInnerHTML={{ __html: html }} />
          </pre>
        </div>
      </div>
    </Modal>
  );
}
