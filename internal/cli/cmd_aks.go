package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mimic-emu/mimic/internal/aks"
)

func newAKSCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aks",
		Short: "Manage Azure Kubernetes Services, and the service accounts of workload identity",
		Long: `AKS workload identity without Kubernetes. A cluster's service accounts
live in mimic as resources of the cluster; 'mimic run --as CLUSTER
--service-account NAMESPACE/NAME' runs a program as a pod of one.`,
	}
	cmd.AddCommand(newServiceAccountCmd(g), newAKSCreateCmd(g), newAKSShowCmd(g), newAKSListCmd(g), newAKSUpdateCmd(g), newAKSDeleteCmd(g))
	return cmd
}

// clusterFlags name a managed cluster.
type clusterFlags struct {
	subscription, group, cluster string
}

func (f *clusterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.group, "resource-group", "g", "", "resource group of the cluster")
	cmd.Flags().StringVar(&f.cluster, "cluster", "", "name of the managed cluster")
	cmd.Flags().StringVar(&f.subscription, "subscription", "", "subscription id (default: the profile's)")
	cmd.MarkFlagRequired("resource-group")
	cmd.MarkFlagRequired("cluster")
}

// dial connects to the server and returns the cluster's resource id.
func (f *clusterFlags) dial(g *globals) (*client, string, error) {
	c, err := dial(g)
	if err != nil {
		return nil, "", err
	}
	sub := f.subscription
	if sub == "" {
		sub = c.profile.SubscriptionID
	}
	return c, "/subscriptions/" + url.PathEscape(sub) + "/resourceGroups/" + url.PathEscape(f.group) +
		"/providers/Microsoft.ContainerService/managedClusters/" + url.PathEscape(f.cluster), nil
}

// saPath is the ARM path of a service account, with the api-version.
func saPath(clusterID, namespace, name, suffix string) string {
	return aks.ServiceAccountID(clusterID, url.PathEscape(namespace), url.PathEscape(name)) + suffix + "?api-version=" + aks.APIVersion
}

// saResource is a service account as ARM returns it.
type saResource struct {
	ID         string             `json:"id"`
	Properties saResourceProperty `json:"properties"`
}

type saResourceProperty struct {
	aks.ServiceAccount
	UID     string `json:"uid,omitempty"`
	Subject string `json:"subject,omitempty"`
}

func newServiceAccountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "serviceaccount",
		Aliases: []string{"sa", "serviceaccounts"},
		Short:   "Apply, list, delete service accounts and get their tokens",
	}
	cmd.AddCommand(newSAApplyCmd(g), newSAListCmd(g), newSADeleteCmd(g), newSATokenCmd(g))
	return cmd
}

func newSAApplyCmd(g *globals) *cobra.Command {
	var cf clusterFlags
	var file string
	cmd := &cobra.Command{
		Use:   "apply -g RG --cluster NAME -f FILE",
		Short: "Create or update service accounts from Kubernetes manifests",
		Long: `Create or update service accounts from ServiceAccount manifests, exactly
as they are written for Kubernetes (several may be separated by ---):

  apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: app
    namespace: default            # the default
    annotations:
      azure.workload.identity/client-id: <client id of a user-assigned identity>
      azure.workload.identity/tenant-id: <tenant id>          # optional
      azure.workload.identity/service-account-token-expiration: "3600"  # optional
    labels:
      azure.workload.identity/use: "true"`,
		Example: `  mimic aks serviceaccount apply -g rg --cluster aks1 -f sa.yaml
  kubectl create sa app --dry-run=client -o yaml | mimic aks sa apply -g rg --cluster aks1 -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in io.Reader = cmd.InOrStdin()
			source := "standard input"
			if file != "-" {
				source = file
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			accounts, err := aks.ParseManifests(in)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			c, clusterID, err := cf.dial(g)
			if err != nil {
				return err
			}
			for _, sa := range accounts {
				path := saPath(clusterID, sa.Namespace, sa.Name, "")
				verb := "configured"
				var apiErr *APIError
				if err := c.do(cmd.Context(), http.MethodGet, path, nil, nil); errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
					verb = "created"
				}
				body := map[string]any{"properties": sa}
				if err := c.do(cmd.Context(), http.MethodPut, path, body, nil); err != nil {
					return fmt.Errorf("serviceaccount %s/%s: %w", sa.Namespace, sa.Name, err)
				}
				fmt.Fprintf(g.stdout, "serviceaccount/%s %s in namespace %s of cluster %s\n", sa.Name, verb, sa.Namespace, cf.cluster)
			}
			return nil
		},
	}
	cf.add(cmd)
	cmd.Flags().StringVarP(&file, "filename", "f", "", "manifest file, or - for standard input")
	cmd.MarkFlagRequired("filename")
	return cmd
}

func newSAListCmd(g *globals) *cobra.Command {
	var cf clusterFlags
	var output string
	cmd := &cobra.Command{
		Use:   "list -g RG --cluster NAME",
		Short: "List a cluster's service accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, clusterID, err := cf.dial(g)
			if err != nil {
				return err
			}
			var page struct {
				Value []saResource `json:"value"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, clusterID+"/serviceAccounts?api-version="+aks.APIVersion, nil, &page); err != nil {
				return err
			}
			switch output {
			case "json":
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(page.Value)
			case "table":
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAMESPACE\tNAME\tCLIENT ID\tUSE\tSUBJECT")
				for _, r := range page.Value {
					p := r.Properties
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Namespace, p.Name, orDash(p.Annotations[aks.AnnotationClientID]),
						orDash(p.Labels[aks.LabelUse]), p.Subject)
				}
				return tw.Flush()
			}
			return fmt.Errorf("--output %q: use table or json", output)
		},
	}
	cf.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// saNameFlags name one service account.
type saNameFlags struct {
	namespace, name string
}

func (f *saNameFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", aks.DefaultNamespace, "namespace of the service account")
	cmd.Flags().StringVar(&f.name, "name", "", "name of the service account")
	cmd.MarkFlagRequired("name")
}

func newSADeleteCmd(g *globals) *cobra.Command {
	var cf clusterFlags
	var sf saNameFlags
	cmd := &cobra.Command{
		Use:   "delete -g RG --cluster NAME --namespace NS --name NAME",
		Short: "Delete a service account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, clusterID, err := cf.dial(g)
			if err != nil {
				return err
			}
			path := saPath(clusterID, sf.namespace, sf.name, "")
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, nil); err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "serviceaccount/%s deleted from namespace %s of cluster %s\n", sf.name, sf.namespace, cf.cluster)
			return nil
		},
	}
	cf.add(cmd)
	sf.add(cmd)
	return cmd
}

func newSATokenCmd(g *globals) *cobra.Command {
	var cf clusterFlags
	var sf saNameFlags
	cmd := &cobra.Command{
		Use:   "token -g RG --cluster NAME --namespace NS --name NAME",
		Short: "Print a projected token of a service account, as kubectl create token does",
		Long: `Print a projected service-account token (aud api://AzureADTokenExchange,
valid one hour), as a cluster admin gets with kubectl create token. It needs
Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action.`,
		Example: `  az login --service-principal -u CLIENT_ID -t TENANT --federated-token "$(mimic aks sa token -g rg --cluster aks1 --name app)"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, clusterID, err := cf.dial(g)
			if err != nil {
				return err
			}
			var out struct {
				Token string `json:"token"`
			}
			if err := c.do(cmd.Context(), http.MethodPost, saPath(clusterID, sf.namespace, sf.name, "/token"), nil, &out); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, out.Token)
			return nil
		},
	}
	cf.add(cmd)
	sf.add(cmd)
	return cmd
}
