import { useEffect, useState } from 'react';
import { api, ApiError } from '../api';
import Modal from './Modal';

export const FORMATS = [
  { id: 'mermaid', label: 'Mermaid', ext: 'mmd' },
  { id: 'plantuml', label: 'PlantUML', ext: 'puml' },
  { id: 'drawio', label: 'draw.io', ext: 'drawio' },
  { id: 'json', label: 'JSON', ext: 'json' },
];

export default function ExportModal({ projectId, format, onClose }: { projectId: string; format: string; onClose: () => void }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const f = FORMATS.find((x) => x.id === format) ?? FORMATS[0];
  useEffect(() => {
    api.exportCanvas(projectId, format).then(
      (t) => {
        if (format === 'json') {
          try {
            t = JSON.stringify(JSON.parse(t), null, 2);
          } catch {
            /* keep as is */
          }
        }
        setText(t);
      },
      (e) => setError(e instanceof ApiError ? e.readable : String(e)),
    );
  }, [projectId, format]);
  const download = () => {
    if (text === null) return;
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `canvas.${f.ext}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <Modal
      title={`Export · ${f.label}`}
      onClose={onClose}
      wide
      testId="export-modal"
      actions={
        text !== null && (
          <div className="row-gap">
            <button
              className="btn small ghost"
              onClick={() => {
                void navigator.clipboard?.writeText(text).then(() => setCopied(true));
              }}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button className="btn small" onClick={download}>
              Download
            </button>
          </div>
        )
      }
    >
      {error && (
        <div className="alert bad" role="alert" data-testid="export-error">
          {error}
        </div>
      )}
      {text === null && !error && <div className="muted">Exporting…</div>}
      {text !== null && (
        <pre className="code export-text" data-testid="export-text">
          {text}
        </pre>
      )}
    </Modal>
  );
}
