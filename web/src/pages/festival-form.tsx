import { useT } from "../i18n";
import { Field } from "../ui";

/** The festival fields both organiser forms edit, as the strings their inputs hold. */
export interface FestivalForm {
  title: string;
  description: string;
  category: string;
  region: string;
  venue: string;
  address: string;
  startDate: string;
  endDate: string;
  perUserLimit: string;
  saleOpensAt: string;
  saleClosesAt: string;
  tags: string;
}

export const splitTags = (tags: string) =>
  tags
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** The inputs of a FestivalForm; `children` go after the dates (create puts the daily capacity there). */
export function FestivalFields(props: {
  form: FestivalForm;
  set: (k: keyof FestivalForm) => (v: string) => void;
  children?: preact.ComponentChildren;
}) {
  const t = useT();
  const { form, set } = props;
  return (
    <>
      <Field id="f-title" label="admin.titleKo" value={form.title} onInput={set("title")} />
      <div class="field">
        <label for="f-description">{t("admin.description")}</label>
        <textarea
          id="f-description"
          value={form.description}
          onInput={(e) => set("description")(e.currentTarget.value)}
        />
      </div>
      <Field id="f-category" label="admin.category" value={form.category} onInput={set("category")} />
      <Field id="f-region" label="admin.region" value={form.region} onInput={set("region")} />
      <Field id="f-venue" label="admin.venue" value={form.venue} onInput={set("venue")} />
      <Field
        id="f-address"
        label="admin.address"
        value={form.address}
        onInput={set("address")}
        required={false}
      />
      <Field
        id="f-start"
        label="admin.startDate"
        type="date"
        value={form.startDate}
        onInput={set("startDate")}
      />
      <Field id="f-end" label="admin.endDate" type="date" value={form.endDate} onInput={set("endDate")} />
      {props.children}
      <Field
        id="f-limit"
        label="admin.perUserLimit"
        type="number"
        value={form.perUserLimit}
        onInput={set("perUserLimit")}
      />
      <Field
        id="f-opens"
        label="admin.saleOpensAt"
        type="datetime-local"
        value={form.saleOpensAt}
        onInput={set("saleOpensAt")}
      />
      <Field
        id="f-closes"
        label="admin.saleClosesAt"
        type="datetime-local"
        value={form.saleClosesAt}
        onInput={set("saleClosesAt")}
      />
      <Field id="f-tags" label="admin.tags" value={form.tags} onInput={set("tags")} required={false} />
    </>
  );
}
